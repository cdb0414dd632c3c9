import { spawnSync } from 'node:child_process';
import path from 'node:path';

const repoDir = path.resolve(__dirname, '..', '..');
const ENDPOINT_VARS = ['KAFKA_BROKERS', 'CASSANDRA_CONTACT_POINTS', 'S3_ENDPOINT'] as const;

/** Runs the launcher CLI (through tsx, so workspace packages resolve to their sources). */
export function launcher(args: string[]): string {
  const r = spawnSync(
    path.join(repoDir, 'node_modules', '.bin', 'tsx'),
    ['--conditions=development', 'deploy/local/engines.ts', ...args],
    {
      cwd: repoDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  if (r.status !== 0)
    throw new Error(`engines ${args.join(' ')} failed (exit ${r.status}); see the lines above`);
  return r.stdout;
}

/** True when the environment already names running engines (CI service, a dev's own stack). */
export const envPointsAtEngines = (): boolean =>
  ENDPOINT_VARS.every((k) => Boolean(process.env[k]));
