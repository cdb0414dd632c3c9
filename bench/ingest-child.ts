/**
 * ingest as its own process for bench/ingest-upload.ts: createIngest with the bench's private
 * topics (main.ts always publishes to the catalogue topics, which other work shares).
 * Env: the engines' env, INGEST_BENCH_TOPICS (JSON IngestTopics), HTTP_PORT. Prints
 * `LISTENING <port>`; logs (JSON, stdout) include each accepted upload's phase timings;
 * SIGTERM stops it gracefully.
 */
import { writeSync } from 'node:fs';
import { createLogger } from '@imgpipe/platform';
import { createIngest, loadConfig, type IngestTopics } from '../ingest/src';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'ingest', level: config.env.LOG_LEVEL });
const topics = JSON.parse(process.env.INGEST_BENCH_TOPICS ?? '') as IngestTopics;
const ingest = createIngest(config, { logger, topics });
process.once('SIGTERM', () => {
  void ingest.stop().then(() => process.exit(0));
});
ingest.start().then(
  ({ port }) => writeSync(1, `LISTENING ${port}\n`),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
