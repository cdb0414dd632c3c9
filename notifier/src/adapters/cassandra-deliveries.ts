import { cassandraTypes, type CassandraClient } from '@imgpipe/platform';
import type {
  AttemptLog,
  AttemptLogEntry,
  AttemptResultRecord,
  Channel,
  DeliveryState,
  NewTarget,
  TargetRepository,
  TargetRow,
} from '../domain/ports';

const { consistencies } = cassandraTypes;

/**
 * notification_targets is written only with lightweight transactions and read at SERIAL
 * (schemas/cql/0004_notifier.cql): mixing LWT and plain writes on the same cells can lose
 * writes to timestamp skew. LWTs are left non-idempotent so the driver never replays one (a
 * replayed `IF` could report "not applied" for its own first success).
 */
const LWT = { prepare: true, serialConsistency: consistencies.localSerial } as const;
const SERIAL_READ = { prepare: true, consistency: consistencies.localSerial } as const;

const INSERT_TARGET = `INSERT INTO notification_targets
  (completion_id, target, request_id, channel, address, state, attempts, done_attempt, claim, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, 'PENDING', ?, 0, ?, ?, ?) IF NOT EXISTS`;

const SELECT_TARGETS = `SELECT target, request_id, channel, address, state, attempts, done_attempt, claim,
  next_attempt_at, last_status_code, last_error FROM notification_targets WHERE completion_id = ?`;

const CLAIM = `UPDATE notification_targets SET attempts = ?, claim = ?, updated_at = ?
  WHERE completion_id = ? AND target = ? IF attempts < ? AND state IN ('PENDING', 'RETRYING')`;

const RECORD = `UPDATE notification_targets SET state = ?, done_attempt = ?, next_attempt_at = ?,
  last_status_code = ?, last_error = ?, updated_at = ?
  WHERE completion_id = ? AND target = ? IF attempts = ? AND claim = ?`;

const FINISH = `UPDATE notification_targets SET state = ?, last_error = ?, updated_at = ?
  WHERE completion_id = ? AND target = ? IF state = ?`;

const SELECT_ATTEMPT = `SELECT state, status_code, latency_ms, error, attempted_at, next_attempt_at,
  completion_id, url FROM webhook_deliveries WHERE request_id = ? AND target = ? AND attempt = ?`;

const INSERT_ATTEMPT = `INSERT INTO webhook_deliveries
  (request_id, target, attempt, completion_id, url, state, status_code, latency_ms, error, attempted_at, next_attempt_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Delivery sequences (notification_targets) on Cassandra. */
export function createCassandraTargets(client: CassandraClient): TargetRepository {
  return {
    async createAll(completionId, requestId, targets: readonly NewTarget[], attempt, claim, now) {
      if (targets.length === 1) {
        // The common case; a single conditional insert costs about half a conditional batch.
        const t = targets[0]!;
        const single = await client.execute(
          INSERT_TARGET,
          [completionId, t.target, requestId, t.channel, t.address, attempt, claim, now, now],
          LWT,
        );
        return single.wasApplied();
      }
      // One partition (completion_id), so the batch is a single Paxos round: all rows or none.
      const result = await client.batch(
        targets.map((t) => ({
          query: INSERT_TARGET,
          params: [
            completionId,
            t.target,
            requestId,
            t.channel,
            t.address,
            attempt,
            claim,
            now,
            now,
          ],
        })),
        LWT,
      );
      return result.wasApplied();
    },

    async load(completionId) {
      const result = await client.execute(SELECT_TARGETS, [completionId], SERIAL_READ);
      return result.rows.map((r): TargetRow => ({
        completionId,
        target: r.get('target') as string,
        requestId: String(r.get('request_id')),
        channel: r.get('channel') as Channel,
        address: r.get('address') as string,
        state: r.get('state') as DeliveryState,
        attempts: (r.get('attempts') as number | null) ?? 0,
        doneAttempt: (r.get('done_attempt') as number | null) ?? 0,
        claim: (r.get('claim') as string | null) ?? '',
        nextAttemptAt: (r.get('next_attempt_at') as Date | null) ?? null,
        lastStatusCode: (r.get('last_status_code') as number | null) ?? null,
        lastError: (r.get('last_error') as string | null) ?? null,
      }));
    },

    async claim(completionId, target, attempt, claim, now) {
      const result = await client.execute(
        CLAIM,
        [attempt, claim, now, completionId, target, attempt],
        LWT,
      );
      return result.wasApplied();
    },

    async record(completionId, target, attempt, claim, r: AttemptResultRecord, now) {
      const result = await client.execute(
        RECORD,
        [
          r.state,
          attempt,
          r.nextAttemptAt,
          r.statusCode,
          r.error,
          now,
          completionId,
          target,
          attempt,
          claim,
        ],
        LWT,
      );
      return result.wasApplied();
    },

    async finish(completionId, target, expected, state, error, now) {
      const result = await client.execute(
        FINISH,
        [state, error, now, completionId, target, expected],
        LWT,
      );
      return result.wasApplied();
    },
  };
}

/** The per-attempt log (webhook_deliveries), which the aggregator's status API reads. */
export function createCassandraAttemptLog(client: CassandraClient): AttemptLog {
  return {
    async write(e: AttemptLogEntry) {
      await client.execute(
        INSERT_ATTEMPT,
        [
          e.requestId,
          e.target,
          e.attempt,
          e.completionId,
          e.url,
          e.state,
          e.statusCode,
          e.latencyMs,
          e.error,
          e.attemptedAt,
          e.nextAttemptAt,
        ],
        // Same key, same values on a redo: safe for the driver to retry.
        { prepare: true, isIdempotent: true },
      );
    },

    async read(requestId, target, attempt) {
      const row = (
        await client.execute(SELECT_ATTEMPT, [requestId, target, attempt], {
          prepare: true,
          isIdempotent: true,
        })
      ).first();
      if (!row) return undefined;
      return {
        requestId,
        target,
        attempt,
        completionId: String(row.get('completion_id')),
        url: row.get('url') as string,
        state: row.get('state') as DeliveryState,
        statusCode: (row.get('status_code') as number | null) ?? null,
        latencyMs: (row.get('latency_ms') as number | null) ?? null,
        error: (row.get('error') as string | null) ?? null,
        attemptedAt: row.get('attempted_at') as Date,
        nextAttemptAt: (row.get('next_attempt_at') as Date | null) ?? null,
      };
    },
  };
}
