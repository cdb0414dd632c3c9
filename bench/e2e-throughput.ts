/**
 * The whole stack vs plain sharp on the same photographs (issue 8, end-to-end benchmark).
 *
 *   npx tsx --conditions=development bench/e2e-throughput.ts
 *
 * Engines: the test profile (started if needed, left running) unless KAFKA_BROKERS,
 * CASSANDRA_CONTACT_POINTS and S3_ENDPOINT point at running ones. The four services run as
 * separate processes with two processors, on a private topic namespace. One CSV lists every
 * JPEG and PNG of plasma-workspace-wallpapers (served by a local origin); the clock runs from
 * the upload to the webhook. In the same run plain sharp compresses the same bytes with the
 * same settings on all cores. Prints images/s of both and the ratio (goal ≥ 0.8 with the
 * engines sharing the machine), upload-to-webhook time, bytes out / bytes in, and peak RSS
 * (VmHWM) per service process. BENCH_LIMIT=n uses the n largest files.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { up } from '../deploy/local/lib/launcher';
import { resolveProfile } from '../deploy/local/lib/profile';
import { csvOf, upload, waitDone } from '../test/e2e/support/client';
import { startWebhookReceiver } from '../test/e2e/support/servers';
import { startStack } from '../test/e2e/support/stack';
import { WALLPAPERS, ensureCorpus, plainSharp, pool, startOrigin } from './support/wallpapers';

/** Peak resident memory (VmHWM) of a process and its children (tsx runs the service in a child). */
function peakRssBytes(pid: number): number {
  const hwm = (p: number) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    /* gone */
  }
  return Math.max(hwm(pid), ...children.map(peakRssBytes));
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const files = ensureCorpus();
  const inputBytes = files.reduce((n, f) => n + statSync(f).size, 0);
  console.log(
    `corpus: ${files.length} photographs, ${mib(inputBytes)}; cores: ${os.availableParallelism()}`,
  );

  if (!process.env.KAFKA_BROKERS) {
    const engines = await up({ ...resolveProfile('test'), fresh: false }, (l) =>
      console.log(`engines: ${l}`),
    );
    Object.assign(process.env, engines.env);
  }
  const [origin, receiver] = await Promise.all([startOrigin(), startWebhookReceiver()]);
  const stack = await startStack({ processors: 2, env: { LOG_LEVEL: 'warn' } });
  try {
    const urlOf = (f: string) =>
      `${origin.url}/${path.relative(WALLPAPERS, f).split(path.sep).map(encodeURIComponent).join('/')}`;
    const rows = files.map((f, i) => ({ sn: i + 1, name: path.basename(f), urls: [urlOf(f)] }));

    // Whole stack: upload → webhook.
    const t0 = performance.now();
    const accepted = await upload(stack.baseUrl, csvOf(rows), { webhook_url: receiver.url });
    if (accepted.status !== 202)
      throw new Error(`upload rejected: ${JSON.stringify(accepted.body)}`);
    const id = accepted.body.request_id;
    const { final } = await waitDone(stack.baseUrl, id, 60 * 60_000);
    while (!receiver.deliveries.some((d) => d.body.includes(id))) await sleep(50);
    // Delivery times are wall-clock (Date.now()); convert the upload start to the same clock.
    const uploadStartedAt = Date.now() - (performance.now() - t0);
    const webhookAt = receiver.deliveries.find((d) => d.body.includes(id))!.at;
    const uploadToWebhook = (webhookAt - uploadStartedAt) / 1000;
    const peaks = [...stack.services.entries()].map(
      ([label, s]) => `${label} ${mib(peakRssBytes(s.child.pid!))}`,
    );

    // Plain sharp on the same bytes, same settings, all cores.
    const buffers = files.map((f) => readFileSync(f));
    let sharpOut = 0;
    const s0 = performance.now();
    await pool(buffers, os.availableParallelism(), async (b) => {
      // Not `sharpOut += await …`: that reads sharpOut before the await and loses updates.
      const out = await plainSharp(b);
      sharpOut += out;
    });
    const sharpSeconds = (performance.now() - s0) / 1000;

    const stackRate = files.length / uploadToWebhook;
    const sharpRate = files.length / sharpSeconds;
    console.log(
      `\nstatus: ${final.status} (${final.progress.compressed} compressed, ${final.progress.failed} failed)`,
    );
    console.log(
      `whole stack (2 processors): ${stackRate.toFixed(2)} images/s; upload → webhook ${uploadToWebhook.toFixed(1)} s`,
    );
    console.log(
      `plain sharp (${os.availableParallelism()} workers): ${sharpRate.toFixed(2)} images/s (${sharpSeconds.toFixed(1)} s)`,
    );
    console.log(`ratio stack / plain sharp: ${(stackRate / sharpRate).toFixed(2)} (goal ≥ 0.8)`);
    console.log(
      `bytes out / bytes in: stack ${(final.bytes_out / final.bytes_in).toFixed(3)}, plain sharp ${(sharpOut / inputBytes).toFixed(3)}`,
    );
    console.log(`peak RSS per service: ${peaks.join(', ')}`);
  } finally {
    await stack.stop();
    origin.stop();
    await receiver.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
