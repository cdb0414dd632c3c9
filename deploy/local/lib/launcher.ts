import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { allTopics, cqlMigrationsDir } from '@imgpipe/schemas';
import {
  createKafka,
  createS3Client,
  ensureBucket,
  ensureTopics,
  migrate,
  parseEnv,
  cassandraEnv,
  s3Env,
  silentLogger,
} from '@imgpipe/platform';
import { ENGINES, resolveJars, type Engine } from './engines';
import {
  LauncherError,
  checkJava,
  ensureWritableDir,
  isOurs,
  portInUse,
  readPid,
  spawnDetached,
  stopPid,
  waitReady,
} from './process';
import { endpointsEnv, type Profile } from './profile';

export interface UpResult {
  /** Engines this call started (the caller stops only these). */
  started: Engine['name'][];
  /** Engines that were already running and were reused. */
  reused: Engine['name'][];
  env: Record<string, string>;
  timingsMs: Record<string, number>;
}

const marker = (p: Profile, e: Engine) => `${p.name}/${e.name}`;
const engineDir = (p: Profile, e: Engine) => path.join(p.stateDir, e.name);
const pidFile = (p: Profile, e: Engine) => path.join(engineDir(p, e), `${e.name}.pid`);
export const logFile = (p: Profile, e: Engine) =>
  path.join(engineDir(p, e), 'logs', `${e.name}.log`);

/** PID of the running engine this launcher started for this profile, if any. */
export function runningPid(p: Profile, e: Engine): number | undefined {
  const pid = readPid(pidFile(p, e));
  return pid !== undefined && isOurs(pid, marker(p, e)) ? pid : undefined;
}

/**
 * Starts every engine that is not already running (in parallel), waits until each really
 * answers, then creates topics, keyspace/tables and the bucket. Idempotent: a second `up`
 * reuses what runs.
 */
export async function up(p: Profile, log: (line: string) => void = console.log): Promise<UpResult> {
  const t0 = Date.now();
  checkJava();
  ensureWritableDir(p.stateDir);
  ensureWritableDir(p.libDir);
  const result: UpResult = { started: [], reused: [], env: endpointsEnv(p), timingsMs: {} };

  // Decide first, fail before starting anything: a busy port is named with the var that moves it.
  const toStart: Engine[] = [];
  for (const e of ENGINES) {
    if (runningPid(p, e) !== undefined) {
      result.reused.push(e.name);
      continue;
    }
    for (const { port, env } of e.ports(p)) {
      if (await portInUse(port)) {
        throw new LauncherError(
          'ERR_PORT_IN_USE',
          `${e.title}: port ${port} is already in use by another process; stop it or set ${env} to a free port`,
        );
      }
    }
    toStart.push(e);
  }

  const jars = new Map(toStart.map((e) => [e.name, resolveJars(p, e.name, log)] as const));
  result.timingsMs.jars = Date.now() - t0;

  await Promise.all(
    ENGINES.map(async (e) => {
      const start = Date.now();
      const starting = toStart.includes(e);
      let exited: Promise<number | null> | undefined;
      if (starting) {
        const dir = engineDir(p, e);
        if (p.fresh) rmSync(path.join(dir, 'data'), { recursive: true, force: true });
        mkdirSync(path.join(dir, 'data'), { recursive: true });
        mkdirSync(path.join(dir, 'logs'), { recursive: true });
        rmSync(logFile(p, e), { force: true });
        const args = e.prepare(p, dir, jars.get(e.name)!);
        log(
          `starting ${e.title} (log: ${path.relative(process.cwd(), logFile(p, e)) || logFile(p, e)})`,
        );
        exited = spawnDetached('java', [`-Dimgpipe.engine=${marker(p, e)}`, ...args], {
          cwd: dir,
          logFile: logFile(p, e),
          pidFile: pidFile(p, e),
        }).exited;
      }
      await waitReady({
        name: e.title,
        probe: () => e.probe(p),
        timeoutMs: e.readyTimeoutMs,
        exited,
        logFile: logFile(p, e),
      });
      if (starting) result.started.push(e.name);
      result.timingsMs[e.name] = Date.now() - start;
    }),
  ).catch(async (err: unknown) => {
    // Leave nothing half-started behind: stop what this call started.
    await Promise.all(toStart.map((e) => stopEngine(p, e)));
    throw err;
  });

  const provisionStart = Date.now();
  await provision(result.env);
  result.timingsMs.provision = Date.now() - provisionStart;
  result.timingsMs.total = Date.now() - t0;
  return result;
}

/** Topics from the catalogue, keyspace + tables through the migration runner, the bucket. */
export async function provision(env: Record<string, string>): Promise<void> {
  const logger = silentLogger();
  const kafka = createKafka({ KAFKA_BROKERS: [env.KAFKA_BROKERS!] }, logger);
  const s3Config = parseEnv(s3Env, env);
  const s3 = createS3Client(s3Config);
  try {
    await Promise.all([
      ensureTopics(kafka, allTopics(env.KAFKA_TOPIC_PREFIX ?? '')),
      migrate(parseEnv(cassandraEnv, env), { dir: cqlMigrationsDir, logger, owner: 'launcher' }),
      ensureBucket(s3, s3Config.S3_BUCKET),
    ]);
  } finally {
    s3.destroy();
  }
}

async function stopEngine(p: Profile, e: Engine): Promise<boolean> {
  const pid = runningPid(p, e);
  if (pid === undefined) return false;
  await stopPid(pid, e.name === 'cassandra' ? 45_000 : 30_000);
  rmSync(pidFile(p, e), { force: true });
  return true;
}

/** Stops only the processes this launcher started (by recorded PID), or just `only` of them. */
export async function down(
  p: Profile,
  only?: readonly Engine['name'][],
): Promise<Engine['name'][]> {
  const stopped: Engine['name'][] = [];
  await Promise.all(
    ENGINES.filter((e) => !only || only.includes(e.name)).map(async (e) => {
      if (await stopEngine(p, e)) stopped.push(e.name);
    }),
  );
  return stopped;
}

export interface EngineStatus {
  name: Engine['name'];
  title: string;
  pid: number | undefined;
  ready: boolean;
  ports: number[];
  log: string;
}

export async function status(p: Profile): Promise<EngineStatus[]> {
  return Promise.all(
    ENGINES.map(async (e) => {
      const pid = runningPid(p, e);
      let ready = false;
      if (pid !== undefined) {
        ready = await e.probe(p).then(
          () => true,
          () => false,
        );
      }
      return {
        name: e.name,
        title: e.title,
        pid,
        ready,
        ports: e.ports(p).map((x) => x.port),
        log: existsSync(logFile(p, e)) ? logFile(p, e) : '',
      };
    }),
  );
}

export { ENGINES };
