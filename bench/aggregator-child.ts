/**
 * The aggregator as its own process for bench/aggregator-throughput.ts: createAggregator with
 * the bench's private topics (main.ts always uses the catalogue topics, which other work
 * shares). Env: the engines' env, AGG_BENCH_TOPICS (JSON AggregatorTopics), HTTP_PORT,
 * AGGREGATOR_GROUP_ID. Prints `LISTENING <port>`; SIGTERM stops it gracefully.
 * AGG_BENCH_PROFILE=<file>: write a V8 CPU profile of the whole run there (open it in Chrome
 * DevTools or speedscope) — where the aggregator spends its time.
 */
import { writeFileSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createLogger } from '@imgpipe/platform';
import { createAggregator, loadConfig, type AggregatorTopics } from '../aggregator/src';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'aggregator', level: config.env.LOG_LEVEL });
const topics = JSON.parse(process.env.AGG_BENCH_TOPICS ?? '') as AggregatorTopics;
const aggregator = createAggregator(config, { logger, topics });
const profileFile = process.env.AGG_BENCH_PROFILE;
const profiler = profileFile ? new Session() : undefined;

async function stop(): Promise<void> {
  await aggregator.stop();
  // CPU the whole run took (start-up and the status load included), for the bench's ratio.
  const cpu = process.cpuUsage();
  writeSync(1, `CPU ${cpu.user + cpu.system}\n`);
  if (profiler && profileFile) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
  }
  process.exit(0);
}
process.once('SIGTERM', () => void stop());

async function startProfiler(): Promise<void> {
  if (!profiler) return;
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
startProfiler()
  .then(() => aggregator.start())
  .then(
    ({ port }) => writeSync(1, `LISTENING ${port}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
