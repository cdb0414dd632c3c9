/**
 * `npm start`: the whole system on this machine. Brings up the engines (reusing running ones),
 * then every service as its own process with one combined log, prints the one base URL users
 * use, and on Ctrl-C / SIGTERM stops the services and the engines this command started.
 * A service that dies is reported by name with its last log lines, and the rest are stopped.
 */
import { prettyFactory } from 'pino-pretty';
import path from 'node:path';
import { up, down } from './lib/launcher';
import { ensureSamples, serveSamples } from './lib/samples';
import { resolveProfile } from './lib/profile';
import {
  hasService,
  servicePorts,
  stackEnv,
  startService,
  stopService,
  waitServiceReady,
  type RunningService,
  type ServiceName,
  type ServiceSpec,
} from './lib/services';

const tty = process.stdout.isTTY;
const pretty = prettyFactory({
  colorize: tty,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,service,name',
});
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const labelWidth = 12;

function printLine(spec: ServiceSpec, line: string, colorIndex: number): void {
  const label = spec.label.padEnd(labelWidth);
  const prefix = tty ? `${COLORS[colorIndex % COLORS.length]}${label}\x1b[0m` : label;
  let text = line;
  if (line.startsWith('{')) {
    try {
      text = tty ? pretty(line).trimEnd() : line;
    } catch {
      /* not JSON after all */
    }
  }
  process.stdout.write(`${prefix} | ${text}\n`);
}

async function main(): Promise<number> {
  const profile = resolveProfile('dev');
  const engines = await up(profile, (l) => console.log(`engines      | ${l}`));
  console.log(
    `engines      | ready (started: ${engines.started.join(', ') || 'none'}; reused: ${engines.reused.join(', ') || 'none'})`,
  );

  // Sample images for examples/products.csv, generated here and served by the stack itself.
  const samplesDir = path.join(path.dirname(profile.stateDir), 'samples');
  await ensureSamples(samplesDir);
  const samplesPort = Number(process.env.SAMPLES_PORT || 8090);
  const samples = await serveSamples(samplesDir, samplesPort).catch((err: Error) => {
    throw new Error(
      `sample image server: port ${samplesPort} unavailable (${err.message}); set SAMPLES_PORT`,
    );
  });
  console.log(`samples      | serving ${samplesDir} at http://127.0.0.1:${samplesPort}/samples/`);

  const ports = servicePorts();
  const env = stackEnv(engines.env, ports);
  const processors = Math.max(1, Number(process.env.PROCESSORS || 1));
  const order: ServiceName[] = ['aggregator', 'notifier', 'processor', 'ingest'];
  const specs: ServiceSpec[] = [];
  for (const service of order) {
    if (!hasService(profile.repoDir, service)) continue;
    if (service === 'processor') {
      for (let i = 1; i <= processors; i++) {
        specs.push({
          label: processors > 1 ? `processor-${i}` : 'processor',
          service,
          port: ports.processor + (i - 1) * 10,
          env,
        });
      }
    } else specs.push({ label: service, service, port: ports[service], env });
  }

  const running: RunningService[] = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<number> => {
    if (stopping) return code;
    stopping = true;
    console.log('stack        | stopping services…');
    await Promise.all(running.map((s) => stopService(s)));
    samples.close();
    if (engines.started.length > 0) {
      console.log(
        `stack        | stopping engines this command started: ${engines.started.join(', ')}`,
      );
      await down(profile, engines.started);
    }
    return code;
  };

  const finished = new Promise<number>((resolve) => {
    const onSignal = (sig: string) => {
      console.log(`stack        | ${sig} received`);
      void stopAll(0).then(resolve);
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    specs.forEach((spec, i) => {
      const s = startService(profile.repoDir, spec, (sp, line) => printLine(sp, line, i));
      running.push(s);
      void s.exited.then((code) => {
        if (stopping) return;
        console.error(
          `\nstack        | ${spec.label} exited unexpectedly (code ${code}). Its last log lines:\n${s.lastLines.join('\n')}\n`,
        );
        void stopAll(1).then(resolve);
      });
    });
  });

  try {
    await Promise.all(running.map((s) => waitServiceReady(s)));
  } catch (err) {
    if (!stopping) {
      console.error(`stack        | ${(err as Error).message}`);
      return stopAll(1);
    }
  }
  if (!stopping) {
    const base = env.PUBLIC_BASE_URL;
    console.log(
      [
        '',
        `  imgpipe is up: ${base}`,
        `  web page:  ${base}/   (upload a CSV, watch it, download the result)`,
        `  API docs:  ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
        `  CLI:       npx imgpipe upload examples/products.csv --wait --url ${base}`,
        `  or:        npm run demo   ·   curl -F file=@examples/products.csv ${base}/upload`,
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  }
  return finished;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`start: ${(err as Error).message ?? String(err)}`);
    process.exit(1);
  },
);
