import { Client, auth, types } from 'cassandra-driver';
import type { CassandraEnv } from './config';

export { types as cassandraTypes };
export type { Client as CassandraClient } from 'cassandra-driver';

export interface CassandraClientOptions {
  /** Connect without a keyspace (the migration runner creates it). */
  withoutKeyspace?: boolean;
  readTimeoutMs?: number;
}

/**
 * The one way services build a Cassandra client: prepared statements by default, the local
 * data centre named (required by the driver's DC-aware policy), LOCAL_QUORUM.
 */
export function createCassandraClient(
  env: CassandraEnv,
  options: CassandraClientOptions = {},
): Client {
  return new Client({
    contactPoints: env.CASSANDRA_CONTACT_POINTS,
    localDataCenter: env.CASSANDRA_LOCAL_DC,
    ...(options.withoutKeyspace ? {} : { keyspace: env.CASSANDRA_KEYSPACE }),
    ...(env.CASSANDRA_USERNAME
      ? {
          authProvider: new auth.PlainTextAuthProvider(
            env.CASSANDRA_USERNAME,
            env.CASSANDRA_PASSWORD ?? '',
          ),
        }
      : {}),
    queryOptions: { prepare: true, consistency: types.consistencies.localQuorum },
    socketOptions: { connectTimeout: 5_000, readTimeout: options.readTimeoutMs ?? 12_000 },
  });
}

const TRANSIENT_RESPONSE_CODES = new Set([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
]);

/** True for a Cassandra error that says "not now" (no host, timeout, overload), not "never". */
export function isCassandraUnavailable(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (
    e.name === 'NoHostAvailableError' ||
    e.name === 'OperationTimedOutError' ||
    e.name === 'BusyConnectionError'
  ) {
    return true;
  }
  return (
    e.name === 'ResponseError' && typeof e.code === 'number' && TRANSIENT_RESPONSE_CODES.has(e.code)
  );
}
