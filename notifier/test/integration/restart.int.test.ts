/**
 * Durability of the retry schedule: the notifier runs as a real process (main.ts through tsx),
 * is killed with SIGKILL between two attempts and started again; the second attempt still
 * comes, once, on schedule. The wait lives in a Kafka delay tier, not in the dead process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { CassandraClient } from '@imgpipe/platform';
import { uniqueName, waitFor } from '../../../test/support/env';
import {
  cassandra,
  completion,
  createPublisher,
  deliveryRows,
  deliveryRowsOnce,
  privateTopics,
  startReceiver,
  type Receiver,
} from './support';

const repoDir = path.resolve(__dirname, '..', '..', '..');

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Running {
  child: ChildProcess;
  output: () => string;
}

function startProcess(env: Record<string, string>): Running {
  // node itself with tsx's loader (not the tsx CLI, whose SIGKILL would orphan the real process).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', 'notifier/src/main.ts'],
    { cwd: repoDir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

async function ready(port: number, running: Running): Promise<void> {
  await waitFor(
    async () => {
      if (running.child.exitCode !== null) {
        throw new Error(`notifier exited (${running.child.exitCode}):\n${running.output()}`);
      }
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    { what: 'the notifier process to be ready', timeoutMs: 90_000, intervalMs: 250 },
  );
}

let publisher: Awaited<ReturnType<typeof createPublisher>>;
let db: CassandraClient;
let hook: Receiver;
const processes: Running[] = [];

afterAll(async () => {
  for (const p of processes) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      const exited = once(p.child, 'exit');
      p.child.kill('SIGTERM');
      const force = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(force);
    }
  }
  await publisher?.close();
  await db?.shutdown();
  await hook?.close();
});

it('a notifier killed between attempts is restarted and the schedule continues', async () => {
  const prefix = await privateTopics();
  const port = await freePort();
  const env = {
    HTTP_PORT: String(port),
    KAFKA_TOPIC_PREFIX: prefix,
    NOTIFIER_GROUP_ID: uniqueName('notifier-restart'),
    FETCH_ALLOW_CIDRS: '127.0.0.0/8',
    WEBHOOK_RETRY_DELAYS_MS: '4000,4000',
    // A killed member leaves the group only when its session expires.
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    CASSANDRA_MIGRATE: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  hook = await startReceiver((n) => ({ status: n === 1 ? 500 : 200 }));
  publisher = await createPublisher(prefix);
  db = cassandra();
  await db.connect();

  const first = startProcess(env);
  processes.push(first);
  await ready(port, first);
  const event = completion({ webhookUrl: hook.url() });
  await publisher.publish(event);
  await waitFor(
    async () =>
      (await deliveryRows(db, event.requestId)).some(
        (r) => r.attempt === 1 && r.state === 'RETRYING',
      )
        ? true
        : undefined,
    { what: 'attempt 1 to fail and be recorded' },
  );

  const exited = once(first.child, 'exit');
  first.child.kill('SIGKILL');
  await exited;
  expect(first.child.signalCode).toBe('SIGKILL');

  const second = startProcess(env);
  processes.push(second);
  await ready(port, second);
  const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
    what: 'attempt 2 from the restarted notifier',
    timeoutMs: 60_000,
  });

  expect(rows.map((r) => [r.attempt, r.state, r.status_code])).toEqual([
    [1, 'RETRYING', 500],
    [2, 'SUCCEEDED', 200],
  ]);
  const got = hook.for(event.completionId);
  expect(got).toHaveLength(2);
  expect(got.map((r) => r.headers['webhook-id'])).toEqual([event.completionId, event.completionId]);
  // Not earlier than the schedule allows (4 s − 20 % jitter).
  expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(3_200);
});
