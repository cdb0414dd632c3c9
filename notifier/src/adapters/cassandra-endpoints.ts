import { cassandraTypes, type CassandraClient } from '@imgpipe/platform';
import type { EndpointRepository, WebhookEndpoint } from '../domain/ports';

const { consistencies } = cassandraTypes;

/**
 * webhook_endpoints (0001). Rotation is conditional on the current secret, so every write to a
 * row is a lightweight transaction (LWT and plain writes are not mixed on the same cells).
 */
const LWT = { prepare: true, serialConsistency: consistencies.localSerial } as const;

const COLUMNS = `endpoint_id, url, description, secret, previous_secret, previous_secret_expires_at,
  disabled, disabled_reason, created_at, updated_at`;

type Row = { get(name: string): unknown };

const toEndpoint = (r: Row): WebhookEndpoint => ({
  id: String(r.get('endpoint_id')),
  url: r.get('url') as string,
  description: (r.get('description') as string | null) ?? null,
  secret: r.get('secret') as string,
  previousSecret: (r.get('previous_secret') as string | null) ?? null,
  previousSecretExpiresAt: (r.get('previous_secret_expires_at') as Date | null) ?? null,
  disabled: (r.get('disabled') as boolean | null) ?? false,
  disabledReason: (r.get('disabled_reason') as string | null) ?? null,
  createdAt: r.get('created_at') as Date,
  updatedAt: (r.get('updated_at') as Date | null) ?? (r.get('created_at') as Date),
});

/** Registered endpoints on Cassandra (the EndpointRepository port). */
export function createCassandraEndpoints(client: CassandraClient): EndpointRepository {
  return {
    async create(e) {
      await client.execute(
        `INSERT INTO webhook_endpoints (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
        [
          e.id,
          e.url,
          e.description,
          e.secret,
          e.previousSecret,
          e.previousSecretExpiresAt,
          e.disabled,
          e.disabledReason,
          e.createdAt,
          e.updatedAt,
        ],
        LWT,
      );
    },

    async list() {
      // A small table (operators register a handful of endpoints); page through it anyway.
      const endpoints: WebhookEndpoint[] = [];
      for await (const row of client.stream(`SELECT ${COLUMNS} FROM webhook_endpoints`, [], {
        prepare: true,
        fetchSize: 500,
      }) as unknown as AsyncIterable<Row>) {
        endpoints.push(toEndpoint(row));
      }
      return endpoints;
    },

    async get(id) {
      const result = await client.execute(
        `SELECT ${COLUMNS} FROM webhook_endpoints WHERE endpoint_id = ?`,
        [id],
        { prepare: true },
      );
      const row = result.first();
      return row ? toEndpoint(row) : undefined;
    },

    async delete(id) {
      const result = await client.execute(
        'DELETE FROM webhook_endpoints WHERE endpoint_id = ? IF EXISTS',
        [id],
        LWT,
      );
      return result.wasApplied();
    },

    async rotateSecret(id, expectedSecret, newSecret, previousExpiresAt, now) {
      const result = await client.execute(
        `UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_secret_expires_at = ?,
          updated_at = ? WHERE endpoint_id = ? IF secret = ?`,
        [newSecret, expectedSecret, previousExpiresAt, now, id, expectedSecret],
        LWT,
      );
      return result.wasApplied();
    },

    async disable(id, reason, now) {
      await client.execute(
        `UPDATE webhook_endpoints SET disabled = true, disabled_reason = ?, updated_at = ?
          WHERE endpoint_id = ? IF EXISTS`,
        [reason, now, id],
        LWT,
      );
    },
  };
}
