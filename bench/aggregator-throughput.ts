/**
 * Aggregator benchmark (issue 6): result events applied per second by ONE aggregator instance,
 * and status API latency at 200 requests/s while those events are being applied.
 *
 *   npx tsx --conditions=development bench/aggregator-throughput.ts
 *   (with the engines' env: KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, S3_ENDPOINT, S3_* keys)
 *
 * The aggregator runs as its own process (bench/aggregator-child.ts: createAggregator on
 * private copies of the topics), so the load generator does not share its event loop.
 *   1. Seed: a few requests are applied; status latency at 200 req/s with nothing else going
 *      on (the baseline).
 *   2. The aggregator stops; BENCH_REQUESTS × BENCH_IMAGES result events (plus their
 *      RequestAccepted) are produced; a fresh aggregator process (same group) starts on that
 *      backlog. Events/s = result events / time from the first to the last one applied (read
 *      from its /metrics). Meanwhile autocannon asks /status at 200 req/s.
 * Prints events/s (goal ≥ 2,000), p50/p99 under load (goal p99 < 25 ms) and the ratio to
 * the idle baseline. BENCH_PROFILE=<file>: CPU profile of the measured aggregator process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import {
  createBus,
  createCassandraClient,
  createKafka,
  createRegistry,
  ensureTopics,
  migrate,
  parseEnv,
  kafkaEnv,
  cassandraEnv,
  silentLogger,
  type Bus,
} from '@imgpipe/platform';
import { Topics, cqlMigrationsDir } from '@imgpipe/schemas';
import type { AggregatorTopics } from '../aggregator/src';
import { syntheticRequest } from '../aggregator/src/testing/synthetic-request';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 40);
const RATE = 200;
/**
 * autocannon sends each connection's share of a second's requests back to back at the start
 * of the second (no pacing within it), so N connections means bursts of N concurrent requests
 * every second. 200 evenly spaced requests/s rarely overlap (5 ms apart, ~2 ms each); 2
 * connections keeps the bursts close to that. BENCH_CONNECTIONS=10 shows the burstier case.
 */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 2);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const repoDir = path.resolve(__dirname, '..');
const kafka = parseEnv(kafkaEnv, process.env);
const name = `bench_agg_${Date.now().toString(36)}`;
// A keyspace of its own: the aggregator's sweeper acts on every open request of its keyspace,
// and the shared one holds other work's requests. Dropped at the end.
const cassandra = { ...parseEnv(cassandraEnv, process.env), CASSANDRA_KEYSPACE: name };
const topics: AggregatorTopics = {
  requestEvents: { ...Topics.requestEvents, name: `${name}.events` },
  requestsCompleted: { ...Topics.requestsCompleted, name: `${name}.completed` },
  deadLetter: { ...Topics.requestEventsDlq, name: `${name}.dlq` },
};
const groupId = `${name}_group`;

type Produced = Parameters<Awaited<ReturnType<Bus['producer']>>['send']>[1][number];

function requestEvents(requestId: string, images: number): Produced[] {
  const products = Math.max(1, Math.floor(images / 4));
  const perProduct = Math.ceil(images / products);
  // Every tenth image fails, as in a catalogue with a few dead links.
  const { accepted, results } = syntheticRequest(
    requestId,
    products,
    perProduct,
    (n) => n % 10 === 9,
  );
  return [accepted, ...results].map((e) => ({ name: e.name, key: requestId, value: e.value }));
}

interface Child {
  process: ChildProcess;
  url: string;
  /** Everything the child printed (its CPU time comes last, at exit). */
  output: () => string;
}

async function startChild(profile?: string): Promise<Child> {
  // tsx itself (not through npx, whose SIGTERM would not reach the aggregator): tsx relays
  // the signal to the node process, which stops gracefully.
  const tsx = path.join(repoDir, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, ['--conditions=development', 'bench/aggregator-child.ts'], {
    cwd: repoDir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      AGG_BENCH_TOPICS: JSON.stringify(topics),
      CASSANDRA_KEYSPACE: name,
      ...(profile ? { AGG_BENCH_PROFILE: profile } : {}),
      MIGRATE_ON_START: 'false',
      AGGREGATOR_GROUP_ID: groupId,
    },
  });
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      // The aggregator's own logs, when asked for (LOG_LEVEL), go to this process's stderr.
      if (process.env.LOG_LEVEL) process.stderr.write(chunk);
      buffered += chunk.toString('utf8');
      const match = /LISTENING (\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`aggregator child exited (${code})`)));
  });
  return { process: child, url: `http://127.0.0.1:${port}`, output: () => buffered };
}

async function stopChild(child: Child): Promise<void> {
  const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  child.process.kill('SIGTERM');
  await exited;
}

/** Result events applied so far, from the child's Prometheus counters. */
async function resultsApplied(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('imgpipe_aggregator_events_total{')) continue;
    if (!/type="Image(Compressed|Failed)"/.test(line)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** Cassandra requests the child made, by operation (from its query-duration histogram). */
async function cassandraRequests(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(
    /^imgpipe_cassandra_query_duration_seconds_count\{[^}]*op="([^"]+)"[^}]*\} (\d+)/gm,
  )) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function statusLoad(url: string, ids: readonly string[], seconds: number) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    overallRate: RATE,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({
          ...req,
          path: `/status/${ids[Math.floor(Math.random() * ids.length)]}`,
        }),
      },
    ],
  });
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  console.log(
    `aggregator bench: ${REQUESTS} requests × ${IMAGES} images; status at ${RATE} req/s over ${CONNECTIONS} connections (autocannon)`,
  );
  await migrate(cassandra, { dir: cqlMigrationsDir, logger: silentLogger(), owner: 'bench' });
  await ensureTopics(createKafka(kafka, silentLogger()), Object.values(topics));
  const bus = createBus({
    kafka,
    logger: silentLogger(),
    registry: createRegistry('bench'),
    clientId: 'bench',
  });
  const producer = await bus.producer();

  // 1. Seeds and the idle baseline.
  const seeds = Array.from({ length: 50 }, () => randomUUID());
  await producer.send(
    topics.requestEvents,
    seeds.flatMap((id) => requestEvents(id, 10)),
  );
  let child = await startChild();
  while ((await resultsApplied(child.url)) < seeds.length * 10) await sleep(200);
  const idle = await statusLoad(child.url, seeds, 5);
  await stopChild(child);

  // 2. The backlog, then one fresh aggregator on it, with the status load alongside.
  const ids = Array.from({ length: REQUESTS }, () => randomUUID());
  const t0 = Date.now();
  for (let k = 0; k < ids.length; k += 100) {
    await producer.send(
      topics.requestEvents,
      ids.slice(k, k + 100).flatMap((id) => requestEvents(id, IMAGES)),
    );
  }
  const expected = REQUESTS * IMAGES;
  console.log(
    `produced ${expected + REQUESTS} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  await bus.close();

  child = await startChild(process.env.BENCH_PROFILE);
  let first: number;
  for (;;) {
    if ((await resultsApplied(child.url)) > 0) {
      first = Date.now();
      break;
    }
    await sleep(50);
  }
  // Status queries over the seeds and the requests being applied (pending ones included).
  const loadDone = statusLoad(child.url, [...seeds, ...ids], LOAD_SECONDS).then(async (r) => ({
    busy: r,
    appliedAtLoadEnd: await resultsApplied(child.url),
  }));
  console.log('first result events applied: status load started');
  let last: number;
  for (;;) {
    if ((await resultsApplied(child.url)) >= expected) {
      last = Date.now();
      break;
    }
    await sleep(250);
  }
  console.log(`all ${expected} result events applied; waiting for the status load to end`);
  const { busy, appliedAtLoadEnd } = await loadDone;
  const queries = await cassandraRequests(child.url);
  await stopChild(child);

  const seconds = (last - first) / 1000;
  const rate = expected / seconds;
  const cpuMicros = Number(/CPU (\d+)/.exec(child.output())?.[1] ?? NaN);
  console.log('');
  console.log(
    `result events applied:   ${expected} in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} events/s (goal ≥ 2000) → ${rate >= 2000 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `aggregator CPU:          ${(cpuMicros / expected).toFixed(0)} µs per result event (whole process: start-up and status load included)`,
  );
  const totalQueries = [...queries.values()].reduce((a, b) => a + b, 0);
  console.log(
    `Cassandra requests:      ${(totalQueries / expected).toFixed(2)} per result event (${[
      ...queries,
    ]
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')})`,
  );
  console.log(
    `status, idle:            p50 ${ms(idle.latency.p50)}  p99 ${ms(idle.latency.p99)}  (${idle.requests.total} requests, ${idle.non2xx} non-2xx)`,
  );
  console.log(
    `status, while applying:  p50 ${ms(busy.latency.p50)}  p99 ${ms(busy.latency.p99)}  (${busy.requests.total} requests, ${busy.non2xx} non-2xx, ${busy.errors} errors) → p99 goal < 25 ms ${busy.latency.p99 < 25 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `p99 under load / idle:   ${(busy.latency.p99 / Math.max(idle.latency.p99, 0.001)).toFixed(2)}`,
  );
  console.log(
    `events were being applied for the whole latency run: ${appliedAtLoadEnd < expected ? 'yes' : `no (all applied before the run ended; ${appliedAtLoadEnd} at its end)`}`,
  );
  const admin = createCassandraClient(cassandra, { withoutKeyspace: true, readTimeoutMs: 60_000 });
  await admin.execute(`DROP KEYSPACE IF EXISTS ${name}`, [], { prepare: false });
  await admin.shutdown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
