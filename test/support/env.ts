import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { cassandraEnv, kafkaEnv, parseEnv, s3Env } from '@imgpipe/platform';

/** Engine settings for tests, from the env the global setup prepared. */
export const testEnv = () => ({
  kafka: parseEnv(kafkaEnv, process.env),
  cassandra: parseEnv(cassandraEnv, process.env),
  s3: parseEnv(s3Env, process.env),
});

/** A name no other test file uses (topics, groups, keyspaces, object prefixes). */
export const uniqueName = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** Polls `check` until it returns a value (not undefined) or throws the last error on timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await sleep(opts.intervalMs ?? 100);
  }
}
