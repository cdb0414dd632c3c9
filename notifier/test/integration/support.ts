/**
 * Shared pieces of the notifier's integration tests: private topics, a real HTTP receiver, a
 * producer for RequestCompleted, and readers for what a user can observe (Cassandra rows, the
 * dead-letter topic, metrics).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBus,
  createCassandraClient,
  createKafka,
  createRegistry,
  done,
  ensureTopics,
  silentLogger,
  createLogger,
  type Bus,
  type CassandraClient,
  type Logger,
} from '@imgpipe/platform';
import { fixture, type Envelope, type RequestCompleted } from '@imgpipe/schemas';
import { generateSecret, loadConfig, notifierTopics, type NotifierConfig } from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';

export const testLogger = (): Logger =>
  process.env.LOG_LEVEL
    ? createLogger({ service: 'notifier-test', level: process.env.LOG_LEVEL })
    : silentLogger();

/** A topic prefix of this test file's own, with its topics created. */
export async function privateTopics(): Promise<string> {
  const prefix = `${uniqueName('ntf')}.`;
  const t = notifierTopics(prefix);
  const kafka = createKafka(testEnv().kafka, silentLogger());
  await ensureTopics(kafka, [t.completed, ...t.tiers, t.deadLetter]);
  return prefix;
}

/** Notifier config for tests: private topics and group, loopback allowed, short waits. */
export function notifierConfig(prefix: string, env: Record<string, string> = {}): NotifierConfig {
  return loadConfig({
    ...process.env,
    HTTP_PORT: '0',
    FETCH_ALLOW_CIDRS: '127.0.0.0/8',
    WEBHOOK_RETRY_DELAYS_MS: '1000,1000,1000',
    WEBHOOK_RETRY_JITTER: '0.2',
    KAFKA_TOPIC_PREFIX: prefix,
    NOTIFIER_GROUP_ID: uniqueName('notifier'),
    KAFKA_SESSION_TIMEOUT_MS: '10000',
    // The global setup applied every migration already.
    CASSANDRA_MIGRATE: 'false',
    ...env,
  });
}

export interface Received {
  headers: Record<string, string>;
  /** The raw body, exactly as sent (what a receiver must verify). */
  body: string;
  at: number;
}

export type Reply = { status: number; headers?: Record<string, string>; hangMs?: number };

/** A real HTTP receiver on 127.0.0.1, answering by `reply(nthRequestForThisId, request)`. */
export async function startReceiver(
  reply: (n: number, r: Received) => Reply = () => ({ status: 200 }),
) {
  const received: Received[] = [];
  const perId = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const r: Received = { headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(r);
      const id = headers['webhook-id'] ?? '';
      const n = (perId.get(id) ?? 0) + 1;
      perId.set(id, n);
      const answer = reply(n, r);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers ?? {});
        res.end('ok');
      };
      if (answer.hangMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, answer.hangMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    /** Requests carrying this webhook-id (other notifiers may deliver here too). */
    for: (id: string) => received.filter((r) => r.headers['webhook-id'] === id),
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** A RequestCompleted of its own (fresh ids), pointing at `webhookUrl`. */
export function completion(overrides: Partial<RequestCompleted> = {}): RequestCompleted {
  const requestId = randomUUID();
  return fixture('RequestCompleted', {
    eventId: randomUUID(),
    requestId,
    completionId: randomUUID(),
    occurredAt: Date.now(),
    completedAt: Date.now(),
    outputCsvKey: `results/${requestId}.csv`,
    outputCsvUrl: `http://127.0.0.1:8080/requests/${requestId}/output.csv`,
    webhookSecret: generateSecret(),
    email: null,
    ...overrides,
  });
}

/** Publishes through the real bus (the aggregator's path), keyed by requestId. */
export async function createPublisher(prefix: string) {
  const bus: Bus = createBus({
    kafka: testEnv().kafka,
    logger: silentLogger(),
    registry: createRegistry('notifier-test'),
    clientId: 'notifier-test',
  });
  const producer = await bus.producer();
  const topic = notifierTopics(prefix).completed;
  return {
    publish: (...events: RequestCompleted[]) =>
      producer.send(
        topic,
        events.map((value) => ({ name: 'RequestCompleted' as const, value, key: value.requestId })),
      ),
    close: () => bus.close(),
  };
}

/** Collects the dead letters of the private notifications DLQ. */
export async function collectDeadLetters(prefix: string) {
  const letters: Envelope[] = [];
  const bus = createBus({
    kafka: testEnv().kafka,
    logger: silentLogger(),
    registry: createRegistry('notifier-test-dlq'),
    clientId: 'notifier-test-dlq',
  });
  const consumer = bus.consumer({
    groupId: uniqueName('dlq-reader'),
    topics: [notifierTopics(prefix).deadLetter],
    handler: (m) => {
      if (m.event.name === 'Envelope') letters.push(m.event.value);
      return Promise.resolve(done());
    },
  });
  await consumer.start();
  return { letters, close: () => bus.close() };
}

export interface DeliveryRow {
  target: string;
  attempt: number;
  state: string;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
  completion_id: string;
  attempted_at: Date;
  next_attempt_at: Date | null;
}

export function cassandra(): CassandraClient {
  return createCassandraClient(testEnv().cassandra);
}

/** webhook_deliveries rows of a request (what the status API reads). */
export async function deliveryRows(
  client: CassandraClient,
  requestId: string,
): Promise<DeliveryRow[]> {
  const r = await client.execute(
    'SELECT target, attempt, state, status_code, latency_ms, error, completion_id, attempted_at, next_attempt_at FROM webhook_deliveries WHERE request_id = ?',
    [requestId],
    { prepare: true },
  );
  return r.rows.map((row) => ({
    target: row.get('target') as string,
    attempt: row.get('attempt') as number,
    state: row.get('state') as string,
    status_code: row.get('status_code') as number | null,
    latency_ms: row.get('latency_ms') as number | null,
    error: row.get('error') as string | null,
    completion_id: String(row.get('completion_id')),
    attempted_at: row.get('attempted_at') as Date,
    next_attempt_at: row.get('next_attempt_at') as Date | null,
  }));
}

/** Polls a request's delivery rows until one of them is in `state`; resolves with all of them. */
export function deliveryRowsOnce(
  client: CassandraClient,
  requestId: string,
  state: string,
  opts: { what: string; timeoutMs?: number },
): Promise<DeliveryRow[]> {
  return waitFor(async () => {
    const rows = await deliveryRows(client, requestId);
    return rows.some((x) => x.state === state) ? rows : undefined;
  }, opts);
}

/** Reads one sample of a counter/gauge from a registry's text exposition. */
export async function metricValue(
  registry: { metrics(): Promise<string> },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
