/**
 * ingest upload benchmark (issue #4, "Benchmark"): a 10,000-row CSV with 3 URLs per row
 * (30,000 images) uploaded to ingest running as its own process on the real engines.
 * Prints, per run: time from request start to 202 (goal < 3 s) and where it went, images
 * published per second, and ingest's peak RSS growth during the upload (goal < 100 MiB); then
 * the parse+validate time against csv-parse alone on the same bytes, in the same run.
 *
 *   npx tsx --conditions=development bench/ingest-upload.ts
 *
 * Engines: the env (KAFKA_BROKERS, CASSANDRA_CONTACT_POINTS, S3_*), defaulting to the test
 * profile's ports. ingest publishes to private topics created (and deleted) by the bench, so
 * the catalogue topics other work reads are untouched; the input CSVs it stores are deleted.
 * Options: BENCH_RUNS (default 3), BENCH_ROWS (10000), BENCH_URLS_PER_ROW (3).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import {
  createKafka,
  createS3Client,
  ensureTopics,
  kafkaEnv,
  parseEnv,
  s3Env,
  silentLogger,
} from '@imgpipe/platform';
import { Topics, type TopicSpec } from '@imgpipe/schemas';
import { DEFAULT_LIMITS, checkCsv, type IngestTopics } from '../ingest/src';

const REPO = path.resolve(__dirname, '..');
const OUT = path.join(REPO, 'bench', '.out');
const MiB = 1024 * 1024;

const env: Record<string, string | undefined> = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  CASSANDRA_CONTACT_POINTS: '127.0.0.1:19042',
  S3_ENDPOINT: 'http://127.0.0.1:19000',
  S3_ACCESS_KEY_ID: 'imgpipe',
  S3_SECRET_ACCESS_KEY: 'imgpipe-local-secret',
  ...process.env,
};
const RUNS = Number(env.BENCH_RUNS ?? 3);
const ROWS = Number(env.BENCH_ROWS ?? 10_000);
const PER_ROW = Number(env.BENCH_URLS_PER_ROW ?? 3);

/** Realistic rows: quoted names (some with commas), three CDN-style URLs in a quoted cell. */
function generateCsv(rows: number, perRow: number): Buffer {
  const sizes = ['S', 'M', 'L', 'XL'];
  const lines = ['S. No.,Product Name,Input Image Urls'];
  for (let r = 0; r < rows; r += 1) {
    const urls = Array.from(
      { length: perRow },
      (_, i) => `https://cdn${r % 7}.shop.invalid/catalog/${100_000 + r}/image-${i + 1}.jpg`,
    );
    lines.push(`${r + 1},"Bench product ${r + 1}, size ${sizes[r % 4]}","${urls.join(', ')}"`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

const procStatus = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return m ? Number(m[1]) * 1024 : NaN;
};

/** Resets the kernel's peak-RSS mark of `pid` (Linux: "5" > clear_refs); false if not allowed. */
const resetPeak = (pid: number): boolean => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Accepted {
  storeMs: number;
  acceptedMs: number;
  imagesMs: number;
}

async function startChild(topics: IngestTopics) {
  // One process (node --import tsx), so its RSS is ingest's own.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', 'bench/ingest-child.ts'],
    {
      cwd: REPO,
      env: {
        ...env,
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
        INGEST_BENCH_TOPICS: JSON.stringify(topics),
        UPLOAD_SPOOL_DIR: path.join(OUT, 'ingest-spool'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const accepted = new Map<string, Accepted>();
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ingest exited with ${code}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const listening = /^LISTENING (\d+)$/.exec(line);
        if (listening) resolve(Number(listening[1]));
        else if (line.startsWith('{')) {
          const log = JSON.parse(line) as Accepted & { msg?: string; requestId?: string };
          if (log.msg === 'upload accepted' && log.requestId) accepted.set(log.requestId, log);
        }
      }
    });
  });
  return { child, port, accepted };
}

async function upload(url: string, csv: Buffer) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(csv)], { type: 'text/csv' }), 'bench.csv');
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', body: form });
  const body = (await res.json()) as { request_id?: string; images?: number; error?: unknown };
  const ms = performance.now() - t0;
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`);
  return { ms, requestId: body.request_id!, images: body.images! };
}

/** parse+validate (ingest's checker) against csv-parse alone, same bytes, same 64 KiB chunks. */
async function parseComparison(csv: Buffer) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < csv.length; i += 64 * 1024) chunks.push(csv.subarray(i, i + 64 * 1024));
  const csvParseOnly = async () => {
    let records = 0;
    await pipeline(
      Readable.from(chunks),
      parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
      new Writable({
        objectMode: true,
        write(_record, _enc, cb) {
          records += 1;
          cb();
        },
      }),
    );
    return records;
  };
  const validate = async () => {
    const r = await checkCsv(chunks, DEFAULT_LIMITS);
    if (!r.ok) throw r.error;
    return r.images;
  };
  const time = async (fn: () => Promise<number>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  for (let i = 0; i < 2; i += 1) {
    await time(csvParseOnly);
    await time(validate);
  }
  const alone: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < 7; i += 1) {
    alone.push(await time(csvParseOnly));
    full.push(await time(validate));
  }
  return { csvParseMs: median(alone), validateMs: median(full) };
}

async function main(): Promise<void> {
  const logger = silentLogger();
  const kafka = createKafka(parseEnv(kafkaEnv, env), logger);
  const s3Config = parseEnv(s3Env, env);
  const s3 = createS3Client(s3Config);
  const suffix = randomBytes(4).toString('hex');
  const topics: IngestTopics = {
    requestEvents: { ...Topics.requestEvents, name: `bench.ingest.${suffix}.requests.events` },
    imagesRequested: { ...Topics.imagesRequested, name: `bench.ingest.${suffix}.images.requested` },
  };
  const specs: TopicSpec[] = [topics.requestEvents, topics.imagesRequested];
  await ensureTopics(kafka, specs);

  const csv = generateCsv(ROWS, PER_ROW);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'ingest-upload.csv'), csv);
  const { child, port, accepted } = await startChild(topics);
  const pid = child.pid!;
  const url = `http://127.0.0.1:${port}/upload`;
  const requestIds: string[] = [];
  const runs: {
    ms: number;
    images: number;
    rssBefore: number;
    peakGrowth: number;
    phases: Accepted | undefined;
  }[] = [];

  try {
    // Warm-up: connects the producer and S3/Kafka sockets, JIT-compiles the hot paths.
    requestIds.push((await upload(url, generateCsv(200, PER_ROW))).requestId);

    for (let run = 0; run < RUNS; run += 1) {
      const rssBefore = procStatus(pid, 'VmRSS');
      const peakReset = resetPeak(pid);
      let sampledPeak = rssBefore;
      const sampler = setInterval(() => {
        sampledPeak = Math.max(sampledPeak, procStatus(pid, 'VmRSS'));
      }, 5);
      const r = await upload(url, csv);
      clearInterval(sampler);
      requestIds.push(r.requestId);
      const peak = peakReset ? Math.max(procStatus(pid, 'VmHWM'), sampledPeak) : sampledPeak;
      // The accepted log line may trail the response by a moment.
      for (let i = 0; i < 50 && !accepted.has(r.requestId); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      runs.push({
        ms: r.ms,
        images: r.images,
        rssBefore,
        peakGrowth: peak - rssBefore,
        phases: accepted.get(r.requestId),
      });
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const id of requestIds) {
      await s3.send(
        new DeleteObjectCommand({ Bucket: s3Config.S3_BUCKET, Key: `inputs/${id}.csv` }),
      );
    }
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: specs.map((t) => t.name) });
    await admin.disconnect();
    s3.destroy();
  }

  const cmp = await parseComparison(csv);

  const images = ROWS * PER_ROW;
  console.log(
    `\ningest upload: ${ROWS.toLocaleString('en')} rows x ${PER_ROW} URLs = ${images.toLocaleString('en')} images, ${(csv.length / MiB).toFixed(2)} MiB, ${RUNS} runs after a warm-up\n`,
  );
  console.log(
    'run | time to 202 | receive+validate | S3 store | RequestAccepted | ImageRequested | images/s (publish) | images/s (end to end) | peak RSS growth',
  );
  for (const [i, r] of runs.entries()) {
    const p = r.phases;
    const published = p ? p.storeMs + p.acceptedMs + p.imagesMs : NaN;
    console.log(
      [
        `${i + 1}`,
        `${r.ms.toFixed(0)} ms`,
        `${(r.ms - published).toFixed(0)} ms`,
        `${p?.storeMs ?? '?'} ms`,
        `${p?.acceptedMs ?? '?'} ms`,
        `${p?.imagesMs ?? '?'} ms`,
        p ? `${Math.round(r.images / (p.imagesMs / 1000)).toLocaleString('en')}` : '?',
        `${Math.round(r.images / (r.ms / 1000)).toLocaleString('en')}`,
        `${(r.peakGrowth / MiB).toFixed(1)} MiB (from ${(r.rssBefore / MiB).toFixed(0)} MiB)`,
      ].join(' | '),
    );
  }
  const ms = median(runs.map((r) => r.ms));
  const growth = Math.max(...runs.map((r) => r.peakGrowth));
  console.log(
    `\ntime to 202, median: ${ms.toFixed(0)} ms = ${(ms / 3000).toFixed(2)} x the 3 s goal`,
  );
  console.log(
    `peak RSS growth, worst run: ${(growth / MiB).toFixed(1)} MiB = ${(growth / (100 * MiB)).toFixed(2)} x the 100 MiB goal`,
  );
  console.log(
    `parse+validate ${cmp.validateMs.toFixed(0)} ms vs csv-parse alone ${cmp.csvParseMs.toFixed(0)} ms (median of 7): ${(cmp.validateMs / cmp.csvParseMs).toFixed(2)} x`,
  );
  writeFileSync(
    path.join(OUT, 'ingest-upload.json'),
    JSON.stringify({ rows: ROWS, perRow: PER_ROW, bytes: csv.length, runs, ...cmp }, null, 2),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
