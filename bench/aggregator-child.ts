/**
 * The aggregator as its own process for bench/aggregator-throughput.ts: createAggregator with
 * the bench's private topics (main.ts always uses the catalogue topics, which other work
 * shares). Env: the engines' env, AGG_BENCH_TOPICS (JSON AggregatorTopics), HTTP_PORT,
 * AGGREGATOR_GROUP_ID. Prints `LISTENING <port>`; SIGTERM stops it gracefully.
 */
import { writeSync } from 'node:fs';
import { createLogger } from '@imgpipe/platform';
import { createAggregator, loadConfig, type AggregatorTopics } from '../aggregator/src';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'aggregator', level: config.env.LOG_LEVEL });
const topics = JSON.parse(process.env.AGG_BENCH_TOPICS ?? '') as AggregatorTopics;
const aggregator = createAggregator(config, { logger, topics });
process.once('SIGTERM', () => {
  void aggregator.stop().then(() => process.exit(0));
});
aggregator.start().then(
  ({ port }) => writeSync(1, `LISTENING ${port}\n`),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
