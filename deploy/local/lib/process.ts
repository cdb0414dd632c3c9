import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  accessSync,
  constants,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A launcher failure: one line saying what is wrong and how to fix it. */
export class LauncherError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LauncherError';
  }
}

/** Java ≥ 17 on PATH (Kafka 4 brokers are compiled for 17; Cassandra 5.0.5+ supports 17). */
export function checkJava(): number {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error) {
    throw new LauncherError(
      'ERR_JAVA_MISSING',
      'Java not found on PATH: install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)',
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (!(major >= 17)) {
    throw new LauncherError(
      'ERR_JAVA_OLD',
      `Java ${Number.isNaN(major) ? '(unknown version)' : major} found, 17 or newer needed: install JDK 17 and put it first on PATH (or set JAVA_HOME/bin there)`,
    );
  }
  return major;
}

export function checkMaven(): void {
  const r = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new LauncherError(
      'ERR_MAVEN_MISSING',
      'Maven (mvn) not found on PATH: it resolves the engine jars from Maven Central. Install it (Debian: apt-get install maven)',
    );
  }
}

/**
 * mkdir -p one level at a time: Node's recursive mkdirSync can spin forever on pseudo
 * filesystems (seen with a folder under /proc), and a stepwise walk fails on the first
 * level that cannot be created, which is also the one to name in the error.
 */
function mkdirp(dir: string): void {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current: string = path.sep;
  for (const part of parts) {
    current = path.join(current, part);
    if (!existsSync(current)) mkdirSync(current);
  }
}

export function ensureWritableDir(dir: string): void {
  try {
    mkdirp(dir);
    accessSync(dir, constants.W_OK);
    const probe = path.join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (err) {
    throw new LauncherError(
      'ERR_DIR_NOT_WRITABLE',
      `Cannot write to ${dir} (${(err as Error).message}): fix its permissions or point IMGPIPE_ENGINES_DIR at a writable folder`,
    );
  }
}

/** True when something accepts connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(1_000, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * True while the process runs. A zombie (exited, not yet reaped by its parent) counts as
 * gone: an engine restarted by a test is a child of that test process, which cannot reap it
 * while it blocks in a synchronous `engines down` — waiting for the zombie would never end.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...", comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): the signal check is all there is
  }
}

/** Our processes carry `-Dimgpipe.engine=<marker>`, so a recycled PID is never mistaken for ours. */
export function isOurs(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`-Dimgpipe.engine=${marker}`);
  } catch {
    return true; // no /proc (macOS): trust the live PID
  }
}

export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log file)';
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}

export interface Spawned {
  pid: number;
  /** Resolves (never rejects) when the process exits. */
  exited: Promise<number | null>;
}

/** Starts a detached background process whose stdout/stderr go to `logFile`. */
export function spawnDetached(
  cmd: string,
  args: readonly string[],
  opts: { cwd: string; logFile: string; pidFile: string; env?: NodeJS.ProcessEnv },
): Spawned {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  child.unref();
  if (child.pid === undefined) throw new LauncherError('ERR_SPAWN', `Could not start ${cmd}`);
  writeFileSync(opts.pidFile, String(child.pid));
  return { pid: child.pid, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopPid(pid: number, graceMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (isAlive(pid)) await sleep(100);
  }
}

/** Polls `probe` until it resolves, the process exits, or the timeout passes. */
export async function waitReady(opts: {
  name: string;
  probe: () => Promise<void>;
  timeoutMs: number;
  exited?: Promise<number | null>;
  logFile: string;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let exitCode: number | null | undefined;
  void opts.exited?.then((code) => {
    exitCode = code;
  });
  let lastError: unknown;
  for (;;) {
    if (exitCode !== undefined) {
      throw new LauncherError(
        'ERR_ENGINE_EXITED',
        `${opts.name} exited during start (code ${exitCode}). Last lines of ${opts.logFile}:\n${tail(opts.logFile)}`,
      );
    }
    try {
      await opts.probe();
      return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new LauncherError(
        'ERR_ENGINE_TIMEOUT',
        `${opts.name} not ready after ${Math.round(opts.timeoutMs / 1000)} s (${(lastError as Error)?.message ?? 'no answer'}). Last lines of ${opts.logFile}:\n${tail(opts.logFile)}`,
      );
    }
    await sleep(500);
  }
}
