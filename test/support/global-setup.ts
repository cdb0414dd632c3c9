/**
 * Integration/e2e global setup: the real engines, once per run.
 * - If KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS and S3_ENDPOINT are all set, those engines are
 *   used as they are (topics, tables and bucket are still ensured, idempotently).
 * - Otherwise the `test` profile is brought up on test ports (reusing it if already running)
 *   and whatever this run started is stopped by the global teardown
 *   (IMGPIPE_KEEP_ENGINES=1 keeps them up for the next run).
 * Workers inherit process.env, so tests read the endpoints from there.
 */
import { launcher, envPointsAtEngines } from './engines';
import { writeFileSync } from 'node:fs';
import { stateFile } from './state';

export default function globalSetup(): void {
  if (envPointsAtEngines()) {
    launcher(['provision']);
    writeFileSync(stateFile, JSON.stringify({ started: [] }));
    return;
  }
  const out = launcher(['up', '--profile', 'test', '--json']).trim().split('\n').pop() ?? '{}';
  const result = JSON.parse(out) as {
    started: string[];
    env: Record<string, string>;
    timingsMs: Record<string, number>;
  };
  Object.assign(process.env, result.env);
  writeFileSync(stateFile, JSON.stringify({ started: result.started }));
  console.log(
    `\n[engines] test engines ready in ${((result.timingsMs.total ?? 0) / 1000).toFixed(1)} s (started: ${result.started.join(', ') || 'none, reused'})`,
  );
}
