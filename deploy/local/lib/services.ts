import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type ServiceName = 'aggregator' | 'notifier' | 'processor' | 'ingest';

export interface ServiceSpec {
  /** Label in the combined log (processor-1, processor-2 …). */
  label: string;
  service: ServiceName;
  port: number;
  env: Record<string, string>;
}

/** Ports of the local stack; each moves with `<SERVICE>_HTTP_PORT`. ingest is the public edge. */
export function servicePorts(env: NodeJS.ProcessEnv = process.env): Record<ServiceName, number> {
  const p = (name: string, def: number) => Number(env[`${name.toUpperCase()}_HTTP_PORT`] || def);
  return {
    ingest: p('ingest', 8080),
    aggregator: p('aggregator', 8081),
    notifier: p('notifier', 8082),
    processor: p('processor', 8083),
  };
}

/**
 * The env every service of the local stack gets: engine endpoints, peer URLs, and the
 * private-address allow-list set to loopback so images and webhooks on this machine work.
 */
export function stackEnv(
  engines: Record<string, string>,
  ports: Record<ServiceName, number>,
): Record<string, string> {
  return {
    ...engines,
    PUBLIC_BASE_URL: process.env.PUBLIC_BASE_URL || `http://127.0.0.1:${ports.ingest}`,
    AGGREGATOR_URL: `http://127.0.0.1:${ports.aggregator}`,
    NOTIFIER_URL: `http://127.0.0.1:${ports.notifier}`,
    FETCH_ALLOW_CIDRS: process.env.FETCH_ALLOW_CIDRS ?? '127.0.0.0/8,::1/128',
  };
}

export interface RunningService {
  spec: ServiceSpec;
  child: ChildProcess;
  /** Last log lines, for the report when it dies. */
  lastLines: string[];
  exited: Promise<number | null>;
}

export const serviceMain = (repoDir: string, service: ServiceName) =>
  path.join(repoDir, service, 'src', 'main.ts');
export const hasService = (repoDir: string, service: ServiceName) =>
  existsSync(serviceMain(repoDir, service));

/** Starts one service as its own process (tsx, workspace sources), lines to `onLine`. */
export function startService(
  repoDir: string,
  spec: ServiceSpec,
  onLine: (spec: ServiceSpec, line: string) => void,
): RunningService {
  // node itself runs the service (tsx only as a loader): the PID we hold is the service's, so a
  // signal — SIGKILL included — reaches it. The tsx CLI would be a wrapper process that dies
  // on SIGKILL and leaves the real service running as an orphan.
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', serviceMain(repoDir, spec.service)],
    {
      cwd: repoDir,
      env: { ...process.env, ...spec.env, HTTP_PORT: String(spec.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const running: RunningService = {
    spec,
    child,
    lastLines: [],
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
    ),
  };
  const pump = (stream: NodeJS.ReadableStream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        running.lastLines.push(line);
        if (running.lastLines.length > 40) running.lastLines.shift();
        onLine(spec, line);
      }
    });
  };
  pump(child.stdout);
  pump(child.stderr);
  return running;
}

/** Waits for GET /readyz → 200, or the process to exit, or the timeout. */
export async function waitServiceReady(s: RunningService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void s.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${s.spec.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(300);
  }
  throw new Error(
    exited
      ? `${s.spec.label} exited during start`
      : `${s.spec.label} not ready after ${timeoutMs / 1000} s`,
  );
}

/** SIGTERM (graceful shutdown inside the service), SIGKILL after `graceMs`. */
export async function stopService(s: RunningService, graceMs = 30_000): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
  await s.exited;
  clearTimeout(timer);
}
