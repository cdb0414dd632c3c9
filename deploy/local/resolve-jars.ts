/** Resolves (or finds cached) the jars of every engine; used by CI before the tests run. */
import { ENGINES, resolveJars } from './lib/engines';
import { resolveProfile } from './lib/profile';

const profile = resolveProfile('test');
try {
  for (const e of ENGINES) console.log(`${e.name}: ${resolveJars(profile, e.name, console.log)}`);
} catch (err) {
  console.error(`engines: ${(err as Error).message}`);
  process.exit(1);
}
