import type { CassandraClient } from '@imgpipe/platform';
import type { AcceptedBody, IdempotencyRecord, IdempotencyStore } from '../domain/ports';

export interface CassandraIdempotencyOptions {
  /** How long an ACCEPTED key replays its response, seconds. */
  retentionSeconds: number;
  /** How long an unfinished claim holds the key, seconds. */
  claimSeconds: number;
}

const TABLE = 'ingest_idempotency_keys';

interface Row {
  get(name: string): unknown;
}

const toRecord = (key: string, row: Row): IdempotencyRecord => {
  const response = row.get('response');
  return {
    key,
    fingerprint: String(row.get('fingerprint')),
    fileSha256: String(row.get('file_sha256')),
    requestId: String(row.get('request_id')),
    state: row.get('state') === 'ACCEPTED' ? 'ACCEPTED' : 'IN_PROGRESS',
    response: typeof response === 'string' ? (JSON.parse(response) as AcceptedBody) : null,
  };
};

/**
 * Idempotency-Key records in Cassandra (table from schemas/cql/0002_ingest.cql). Every write is
 * a lightweight transaction: the claim is `IF NOT EXISTS`, completion and release are
 * `IF request_id = ?`, so two concurrent uploads with one key cannot both proceed and an
 * attempt never overwrites or frees another attempt's claim.
 */
export function createCassandraIdempotencyStore(
  client: CassandraClient,
  options: CassandraIdempotencyOptions,
): IdempotencyStore {
  const lwt = { prepare: true };
  return {
    async claim(record) {
      const result = await client.execute(
        `INSERT INTO ${TABLE} (idempotency_key, fingerprint, file_sha256, request_id, state, created_at)
         VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?) IF NOT EXISTS USING TTL ?`,
        [
          record.key,
          record.fingerprint,
          record.fileSha256,
          record.requestId,
          new Date(),
          options.claimSeconds,
        ],
        lwt,
      );
      if (result.wasApplied()) return { claimed: true };
      const row = result.first();
      return { claimed: false, existing: toRecord(record.key, row) };
    },
    async complete(record) {
      // Every column is rewritten with the retention TTL: the claim's cells (short TTL) would
      // otherwise expire and take the row with them.
      const result = await client.execute(
        `UPDATE ${TABLE} USING TTL ?
         SET fingerprint = ?, file_sha256 = ?, request_id = ?, state = 'ACCEPTED', response = ?,
             created_at = ?
         WHERE idempotency_key = ? IF request_id = ?`,
        [
          options.retentionSeconds,
          record.fingerprint,
          record.fileSha256,
          record.requestId,
          JSON.stringify(record.response),
          new Date(),
          record.key,
          record.requestId,
        ],
        lwt,
      );
      if (!result.wasApplied()) {
        // The claim lapsed (an accept slower than the claim TTL) or another attempt took the key.
        throw new Error(`Idempotency-Key claim of request ${record.requestId} is no longer held`);
      }
    },
    async release(key, requestId) {
      await client.execute(
        `DELETE FROM ${TABLE} WHERE idempotency_key = ? IF request_id = ?`,
        [key, requestId],
        lwt,
      );
    },
  };
}
