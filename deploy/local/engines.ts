/**
 * Local engines without Docker: `up`, `down`, `status` [--profile dev|test].
 * npm scripts: engines:up, engines:down, engines:status. See README "Engines".
 */
import { down, provision, status, up } from './lib/launcher';
import { LauncherError } from './lib/process';
import { endpointsEnv, resolveProfile } from './lib/profile';

async function main(argv: string[]): Promise<number> {
  const [command = 'status', ...rest] = argv;
  const i = rest.indexOf('--profile');
  const name: string = (i >= 0 ? rest[i + 1] : process.env.ENGINES_PROFILE) || 'dev';
  if (name !== 'dev' && name !== 'test')
    throw new LauncherError(
      'ERR_USAGE',
      `Unknown profile "${name}": use --profile dev or --profile test`,
    );
  const profile = resolveProfile(name);
  switch (command) {
    case 'up': {
      const json = rest.includes('--json');
      // With --json, progress goes to stderr and stdout carries one JSON line (for the Jest setup).
      const r = await up(profile, json ? (line) => console.error(line) : undefined);
      if (json) {
        console.log(JSON.stringify(r));
        return 0;
      }
      const secs = (ms = 0) => `${(ms / 1000).toFixed(1)} s`;
      console.log(
        `engines (${name}) ready in ${secs(r.timingsMs.total)}: started [${r.started.join(', ')}], reused [${r.reused.join(', ')}]`,
      );
      console.log(
        `  kafka ${secs(r.timingsMs.kafka)}, cassandra ${secs(r.timingsMs.cassandra)}, s3proxy ${secs(r.timingsMs.s3proxy)}, provisioning ${secs(r.timingsMs.provision)}`,
      );
      console.log('endpoints:');
      for (const [k, v] of Object.entries(r.env)) console.log(`  ${k}=${v}`);
      console.log(`data and logs: ${profile.stateDir}`);
      return 0;
    }
    case 'down': {
      const j = rest.indexOf('--only');
      const only = j >= 0 ? (rest[j + 1] ?? '').split(',').filter(Boolean) : undefined;
      const stopped = await down(profile, only as Parameters<typeof down>[1]);
      console.log(
        stopped.length
          ? `stopped: ${stopped.join(', ')}`
          : `no engines of profile "${name}" were running (only engines started by engines:up are stopped)`,
      );
      return 0;
    }
    case 'provision': {
      // Topics, keyspace/tables and bucket on engines named by the env (e.g. CI services).
      const env = Object.fromEntries(
        Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
      );
      await provision({ ...endpointsEnv(profile), ...env });
      console.error('provisioned topics, tables and bucket');
      return 0;
    }
    case 'status': {
      const rows = await status(profile);
      for (const s of rows) {
        const state = s.pid === undefined ? 'stopped' : s.ready ? 'ready' : 'starting/unhealthy';
        console.log(
          `${s.title.padEnd(14)} ${state.padEnd(18)} pid ${String(s.pid ?? '-').padEnd(8)} ports ${s.ports.join(',')}  ${s.log}`,
        );
      }
      return rows.every((s) => s.ready) ? 0 : 3;
    }
    default:
      throw new LauncherError(
        'ERR_USAGE',
        `Unknown command "${command}": use up, down, status or provision`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    console.error(`engines: ${e.message ?? String(err)}`);
    process.exit(e.code === 'ERR_USAGE' ? 2 : 1);
  },
);
