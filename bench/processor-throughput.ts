/**
 * Processor throughput vs plain sharp, on real photographs (issue 5, Benchmark).
 *
 *   npx tsx --conditions=development bench/processor-throughput.ts
 *
 * Corpus: every JPEG and PNG of Debian's `plasma-workspace-wallpapers` (installed with apt
 * when /usr/share/wallpapers is missing), served by a local HTTP origin in a child process
 * (like a remote origin: its CPU and memory are not this process's).
 *
 * Runs, in one process, at the same concurrency (one image per core) and sharp settings:
 *   1. processor: the production per-image path — safe downloader (address guard, caps,
 *      deadline) → signature sniffing → the sharp compressor → keep-original rule → store —
 *      with a store that counts bytes (Kafka and S3 are outside "the processor alone";
 *      BENCH_S3=1 stores in the S3 from S3_* env instead);
 *   2. plain sharp: the same bytes, read from disk, through bare sharp calls with the same
 *      options (auto-orient, ICC kept, quality 50, palette-vs-lossless PNG).
 * The sides are interleaved in chunks (the machine's cores may be shared). Prints images/s
 * (wall-clock) and CPU seconds per image of both and their ratios (goal ≥ 0.9), the peak
 * RSS of the whole bench process — an upper bound of the processor's (goal < 1 GiB) — and
 * bytes out / bytes in. BENCH_LIMIT=n takes the n largest files only; BENCH_ROUNDS=n runs
 * every file n times per side (default 1).
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUALITY,
  WALLPAPERS,
  ensureCorpus,
  plainSharp,
  pool,
  rssSampler,
  startOrigin,
} from './support/wallpapers';
import { createS3Client, ensureBucket, parseAllowCidrs, parseEnv, s3Env } from '@imgpipe/platform';
import type { ImageRequested } from '@imgpipe/schemas';
import { createHttpFetcher } from '../processor/src/adapters/http-fetcher';
import { createS3Store } from '../processor/src/adapters/s3-store';
import { configureSharp, createSharpCompressor } from '../processor/src/adapters/sharp/compressor';
import { createImageHandler } from '../processor/src/domain/image-handler';
import { createImagePipeline } from '../processor/src/domain/pipeline';
import type { ImageResult, ObjectStore, PipelineObserver } from '../processor/src/domain/ports';

async function main(): Promise<void> {
  const files = ensureCorpus();
  const cores = os.availableParallelism();
  const concurrency = Number(process.env.PROCESSOR_CONCURRENCY ?? cores);
  const inputBytes = files.reduce((n, f) => n + statSync(f).size, 0);
  console.log(
    `corpus: ${files.length} files (${(inputBytes / 2 ** 20).toFixed(1)} MiB), ${cores} cores, concurrency ${concurrency}`,
  );
  configureSharp(Math.max(1, Math.floor(cores / concurrency)));
  const origin = await startOrigin();

  // The processor's path, production adapters, store per BENCH_S3.
  let bytesIn = 0;
  let bytesOut = 0;
  const countingStore: ObjectStore = {
    put: (_key, bytes) => {
      bytesOut += bytes.length;
      return Promise.resolve();
    },
  };
  let store = countingStore;
  if (process.env.BENCH_S3 === '1') {
    const env = parseEnv(s3Env, process.env);
    const s3 = createS3Client(env);
    await ensureBucket(s3, env.S3_BUCKET);
    const real = createS3Store(s3, env.S3_BUCKET);
    store = {
      put: async (key, bytes, type, signal) => {
        await real.put(key, bytes, type, signal);
        bytesOut += bytes.length;
      },
    };
  }
  const observer: PipelineObserver = {
    stage: () => undefined,
    bytes: (i) => {
      bytesIn += i;
    },
    outcome: () => undefined,
    inFlight: () => undefined,
  };
  const fetcher = createHttpFetcher({
    allow: parseAllowCidrs('127.0.0.0/8'),
    connectTimeoutMs: 5_000,
    totalTimeoutMs: 60_000,
    maxBytes: 25 * 2 ** 20,
    maxRedirects: 3,
  });
  const clock = {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    sleep: (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }),
  };
  const results: ImageResult[] = [];
  const handler = createImageHandler({
    pipeline: createImagePipeline({
      fetcher,
      compressor: createSharpCompressor({ maxPixels: 50_000_000, timeoutMs: 60_000 }),
      store,
      observer,
      clock,
      urls: { publicBaseUrl: 'http://127.0.0.1:8080' },
    }),
    publisher: {
      publish: (r) => {
        results.push(r);
        return Promise.resolve();
      },
    },
    observer,
    clock,
    ids: { eventId: randomUUID },
    retry: { maxDeliveries: 1, quickRetryMs: 0 },
  });
  const requestId = randomUUID();
  const requests: ImageRequested[] = files.map((f, i) => ({
    eventId: randomUUID(),
    occurredAt: Date.now(),
    requestId,
    imageId: randomUUID(),
    productIndex: i,
    imageIndex: 0,
    serialNumber: String(i),
    productName: path.basename(f),
    inputUrl: `${origin.url}/${path.relative(WALLPAPERS, f).split(path.sep).map(encodeURIComponent).join('/')}`,
    options: { quality: QUALITY, format: 'keep', maxDimension: null },
  }));
  const signal = new AbortController().signal;
  const runProcessor = (list: readonly ImageRequested[]) =>
    pool(list, concurrency, async (request) => {
      await handler.handle({ request, attempt: 1, signal, heartbeat: () => Promise.resolve() });
    });

  // Warm up both paths (libvips init, connection pool) on the smallest files.
  const warm = files.slice(-Math.min(4, files.length));
  await runProcessor(requests.slice(-warm.length));
  for (const f of warm) await plainSharp(await readFile(f));
  results.length = 0;
  bytesIn = 0;
  bytesOut = 0;

  // The cores are shared with whatever else runs on the machine, so load drifts. The two
  // sides are interleaved finely — 4 chunks × BENCH_ROUNDS (default 1), alternating which
  // side goes first —
  // so drift hits both alike, and CPU seconds per image (process CPU, libvips threads
  // included) are reported besides wall-clock: that ratio does not depend on other load.
  const chunks: number[][] = [[], [], [], []];
  files.forEach((_, i) => chunks[i % chunks.length]!.push(i));
  const processorSide = { seconds: 0, cpu: 0, images: 0 };
  const sharpSide = { seconds: 0, cpu: 0, images: 0 };
  let sharpIn = 0;
  let sharpOut = 0;
  const measure = async (side: typeof processorSide, run: () => Promise<void>, count: number) => {
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    await run();
    side.seconds += (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    side.cpu += (cpu.user + cpu.system) / 1e6;
    side.images += count;
  };
  results.length = 0;
  bytesIn = 0;
  bytesOut = 0;
  const rss = rssSampler();
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  for (let round = 0; round < rounds; round++) {
    for (const [c, chunk] of chunks.entries()) {
      const processorRun = () =>
        measure(processorSide, () => runProcessor(chunk.map((i) => requests[i]!)), chunk.length);
      const sharpRun = () =>
        measure(
          sharpSide,
          () =>
            pool(chunk, concurrency, async (i) => {
              const bytes = await readFile(files[i]!);
              const out = await plainSharp(bytes);
              sharpIn += bytes.length;
              sharpOut += out;
            }),
          chunk.length,
        );
      if ((round + c) % 2 === 0) {
        await processorRun();
        await sharpRun();
      } else {
        await sharpRun();
        await processorRun();
      }
    }
    console.log(
      `  round ${round + 1}: processor ${processorSide.seconds.toFixed(1)} s, plain sharp ${sharpSide.seconds.toFixed(1)} s (cumulative)`,
    );
  }
  const peakRss = rss.stop();
  const failures = results.filter((r) => r.name === 'ImageFailed');
  const kept = results.filter((r) => r.name === 'ImageCompressed' && r.value.keptOriginal).length;

  origin.stop();
  await fetcher.close();

  const rate = (side: typeof processorSide) => side.images / side.seconds;
  const cpuPerImage = (side: typeof processorSide) => side.cpu / side.images;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log('');
  console.log(
    `processor     ${rate(processorSide).toFixed(2)} images/s  (${processorSide.seconds.toFixed(1)} s wall, ${cpuPerImage(processorSide).toFixed(3)} CPU s/image)`,
  );
  console.log(
    `plain sharp   ${rate(sharpSide).toFixed(2)} images/s  (${sharpSide.seconds.toFixed(1)} s wall, ${cpuPerImage(sharpSide).toFixed(3)} CPU s/image)`,
  );
  console.log(
    `ratio         ${(rate(processorSide) / rate(sharpSide)).toFixed(3)} wall-clock, ${(cpuPerImage(sharpSide) / cpuPerImage(processorSide)).toFixed(3)} by CPU time  (goal >= 0.9)`,
  );
  console.log(
    `peak RSS      ${mib(Math.max(peakRss, process.resourceUsage().maxRSS * 1024))}  (whole bench process, both sides; goal < 1024 MiB)`,
  );
  console.log(
    `bytes out/in  ${(bytesOut / bytesIn).toFixed(3)}  (processor: ${mib(bytesOut)} / ${mib(bytesIn)}; plain sharp: ${(sharpOut / sharpIn).toFixed(3)})`,
  );
  console.log(
    `outcomes      ${results.length - failures.length} stored (${kept} kept original), ${failures.length} failed`,
  );
  for (const f of failures.slice(0, 5)) {
    const v = f.value as { productName: string; failureCode: string; message: string };
    console.log(`  failed: ${v.productName} ${v.failureCode} ${v.message}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
