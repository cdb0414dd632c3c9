/**
 * Notifier benchmark (issue 7): webhook deliveries per second to a local receiver (goal ≥ 500/s)
 * and the delay from RequestCompleted published to the receiver's first byte (p50, p99).
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 CASSANDRA_CONTACT_POINTS=127.0.0.1:19042 \
 *   S3_ENDPOINT=http://127.0.0.1:19000 npx tsx --conditions=development bench/notifier-throughput.ts
 *
 * The notifier runs as its own process (main.ts), on private topics with the catalogue's
 * partition counts; this process publishes through the real bus and runs the receiver.
 * Three measurements in one run:
 *  1. ceiling: the same receiver driven directly by undici (32 concurrent signed POSTs), i.e.
 *     what the HTTP part alone allows on this machine;
 *  2. burst: BENCH_BURST completions published at once → deliveries/s, and its ratio to the
 *     goal and to the ceiling;
 *  3. paced: BENCH_PACED_RATE completions/s for BENCH_PACED_SECONDS → publish-to-first-byte
 *     latency without a queue in front (p50, p99).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { buildPayload, generateSecret, serializePayload, signedHeaders } from '../notifier/src';
import { completion, createPublisher, privateTopics } from '../notifier/test/integration/support';
import { uniqueName, waitFor } from '../test/support/env';

const BURST = Number(process.env.BENCH_BURST ?? 5_000);
const PACED_RATE = Number(process.env.BENCH_PACED_RATE ?? 100);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 10);
const CONCURRENCY = process.env.NOTIFIER_CONCURRENCY ?? '32';

const now = () => performance.timeOrigin + performance.now();
const repoDir = path.resolve(__dirname, '..');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Receiver: records when the first byte of each webhook-id arrived (request head parsed). */
async function startReceiver() {
  const firstByte = new Map<string, number>();
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const at = now();
    const id = req.headers['webhook-id'];
    if (typeof id === 'string') {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      if (!firstByte.has(id)) firstByte.set(id, at);
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    firstByte,
    /** Requests beyond the first per webhook-id, for the notifier's ids only. */
    duplicates: () =>
      [...counts].filter(([id]) => !id.startsWith('ceiling-')).reduce((n, [, c]) => n + c - 1, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function ceiling(url: string, seconds: number): Promise<number> {
  const agent = new Agent({ connections: 32 });
  const secret = generateSecret();
  const body = serializePayload(buildPayload(completion()));
  const end = now() + seconds * 1000;
  let done = 0;
  let sent = 0;
  const worker = async () => {
    while (now() < end) {
      const headers = {
        'content-type': 'application/json',
        ...signedHeaders([secret], `ceiling-${sent++}`, Math.floor(Date.now() / 1000), body),
      };
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent });
      await res.body.dump();
      done += 1;
    }
  };
  const started = now();
  await Promise.all(Array.from({ length: 32 }, worker));
  const rate = done / ((now() - started) / 1000);
  await agent.close();
  return rate;
}

/** Sums every sample of each metric name (over all label sets) from the notifier's /metrics. */
async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return sums;
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  const prefix = await privateTopics();
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', 'notifier/src/main.ts'],
    {
      cwd: repoDir,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        HTTP_PORT: String(port),
        KAFKA_TOPIC_PREFIX: prefix,
        NOTIFIER_GROUP_ID: uniqueName('notifier-bench'),
        NOTIFIER_CONCURRENCY: CONCURRENCY,
        FETCH_ALLOW_CIDRS: '127.0.0.0/8',
        CASSANDRA_MIGRATE: 'false',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
    },
  );
  const publisher = await createPublisher(prefix);
  try {
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return r?.status === 200 ? true : undefined;
      },
      { what: 'notifier ready', timeoutMs: 90_000, intervalMs: 250 },
    );
    console.log(`notifier ready (concurrency ${CONCURRENCY}); measuring the HTTP ceiling…`);
    const ceilingRate = await ceiling(receiver.url, 5);

    // Warm-up: connections, prepared statements, JIT.
    const warm = Array.from({ length: 200 }, () => completion({ webhookUrl: receiver.url }));
    await publisher.publish(...warm);
    await waitFor(
      () => (warm.every((e) => receiver.firstByte.has(e.completionId)) ? true : undefined),
      {
        what: 'warm-up deliveries',
        timeoutMs: 120_000,
      },
    );

    // Burst.
    const burst = Array.from({ length: BURST }, () => completion({ webhookUrl: receiver.url }));
    const published = new Map<string, number>();
    const burstStart = now();
    for (let i = 0; i < burst.length; i += 500) {
      const chunk = burst.slice(i, i + 500);
      const at = now();
      for (const e of chunk) published.set(e.completionId, at);
      await publisher.publish(...chunk);
    }
    const publishedAll = now();
    await waitFor(
      () => (burst.every((e) => receiver.firstByte.has(e.completionId)) ? true : undefined),
      {
        what: 'burst deliveries',
        timeoutMs: 600_000,
        intervalMs: 50,
      },
    );
    const afterBurst = await scrape(port);
    const lastByte = Math.max(...burst.map((e) => receiver.firstByte.get(e.completionId)!));
    const burstRate = BURST / ((lastByte - burstStart) / 1000);
    const burstLatency = burst
      .map((e) => receiver.firstByte.get(e.completionId)! - published.get(e.completionId)!)
      .sort((a, b) => a - b);

    // Paced.
    const paced: { id: string; at: number }[] = [];
    const interval = 1000 / PACED_RATE;
    const pacedStart = now();
    for (let i = 0; i < PACED_RATE * PACED_SECONDS; i++) {
      const due = pacedStart + i * interval;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
      const e = completion({ webhookUrl: receiver.url });
      paced.push({ id: e.completionId, at: now() });
      void publisher.publish(e);
    }
    await waitFor(() => (paced.every((p) => receiver.firstByte.has(p.id)) ? true : undefined), {
      what: 'paced deliveries',
      timeoutMs: 120_000,
    });
    const pacedLatency = paced
      .map((p) => receiver.firstByte.get(p.id)! - p.at)
      .sort((a, b) => a - b);

    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.log('\nnotifier benchmark');
    console.log(
      `  HTTP ceiling (undici → receiver, 32 concurrent): ${ceilingRate.toFixed(0)} req/s`,
    );
    console.log(
      `  burst of ${BURST}: ${burstRate.toFixed(0)} deliveries/s ` +
        `(publishing took ${((publishedAll - burstStart) / 1000).toFixed(2)} s)`,
    );
    console.log(`    ratio to goal 500/s: ${(burstRate / 500).toFixed(2)}`);
    console.log(`    ratio to HTTP ceiling: ${(burstRate / ceilingRate).toFixed(3)}`);
    console.log(
      `    publish → first byte: p50 ${ms(percentile(burstLatency, 50))}, p99 ${ms(percentile(burstLatency, 99))} (queueing included)`,
    );
    console.log(
      `  paced ${PACED_RATE}/s for ${PACED_SECONDS} s: publish → first byte p50 ${ms(percentile(pacedLatency, 50))}, ` +
        `p99 ${ms(percentile(pacedLatency, 99))}, max ${ms(pacedLatency.at(-1) ?? Number.NaN)}`,
    );
    const mean = (name: string) =>
      ((afterBurst.get(`${name}_sum`) ?? 0) / (afterBurst.get(`${name}_count`) || 1)) * 1000;
    console.log(
      `  notifier internals over warm-up + burst: handler ${ms(mean('imgpipe_bus_handler_duration_seconds'))} mean, ` +
        `HTTP attempt ${ms(mean('imgpipe_webhook_duration_seconds'))} mean`,
    );
    console.log(`  duplicate deliveries seen by the receiver: ${receiver.duplicates()}`);
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    await publisher.close();
    await receiver.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
