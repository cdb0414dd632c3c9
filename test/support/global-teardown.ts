import { existsSync, readFileSync, rmSync } from 'node:fs';
import { launcher } from './engines';
import { stateFile } from './state';

/** Stops only the engines this run's global setup started. */
export default function globalTeardown(): void {
  if (!existsSync(stateFile)) return;
  const { started } = JSON.parse(readFileSync(stateFile, 'utf8')) as { started: string[] };
  rmSync(stateFile, { force: true });
  if (started.length === 0 || process.env.IMGPIPE_KEEP_ENGINES === '1') return;
  launcher(['down', '--profile', 'test', '--only', started.join(',')]);
}
