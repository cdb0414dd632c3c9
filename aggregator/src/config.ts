import { z } from 'zod';
import { cassandraEnv, envField, kafkaEnv, parseEnv, s3Env, type Env } from '@imgpipe/platform';

const httpUrl = () =>
  z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .transform((u) => u.replace(/\/+$/, ''));

/** Every env var the aggregator reads, with defaults that work with the local stack. */
export const aggregatorEnv = kafkaEnv
  .extend(cassandraEnv.shape)
  .extend(s3Env.shape)
  .extend({
    LOG_LEVEL: envField.logLevel(),
    LOG_PRETTY: envField.bool(false),
    HTTP_PORT: envField.port(8081),
    /** The one URL users use (ingest's edge): output CSV and image download URLs start here. */
    PUBLIC_BASE_URL: httpUrl().default('http://127.0.0.1:8080'),
    /** Optional CDN/bucket base: image URLs become `${OUTPUT_PUBLIC_BASE_URL}/${outputKey}`. */
    OUTPUT_PUBLIC_BASE_URL: httpUrl().optional(),
    AGGREGATOR_GROUP_ID: z.string().min(1).default('imgpipe-aggregator'),
    /** requests.events partitions handled at once (the topic has 12). */
    AGGREGATOR_PARTITIONS_CONCURRENTLY: envField.int(12, 1),
    /** Consumer group session timeout: how soon a dead instance's partitions move on. */
    AGGREGATOR_SESSION_TIMEOUT_MS: envField.positiveMs(30_000),
    /** Results whose RequestAccepted has not arrived after this long close the request as FAILED. */
    AGGREGATOR_ORPHAN_TIMEOUT_MS: envField.positiveMs(15 * 60_000),
    /** An accepted request with no image finishing for this long is closed as FAILED. */
    REQUEST_STALL_TIMEOUT_MS: envField.positiveMs(6 * 3_600_000),
    /** How often open requests are checked for timeouts and interrupted completions. */
    AGGREGATOR_SWEEP_INTERVAL_MS: envField.positiveMs(30_000),
    /** How long an interrupted completion is left to its owner before a sweep finishes it. */
    AGGREGATOR_RECOVERY_GRACE_MS: envField.positiveMs(30_000),
    /** Requests whose state is kept in memory (least recently used are dropped). */
    AGGREGATOR_CACHE_MAX_REQUESTS: envField.int(20_000, 1),
    /** Apply the CQL migrations at start (main.ts); off when a deploy job does it. */
    MIGRATE_ON_START: envField.bool(true),
  });

export type AggregatorEnv = z.infer<typeof aggregatorEnv>;

export interface AggregatorConfig {
  readonly env: AggregatorEnv;
}

/** Env → typed, frozen config; one error listing every bad variable. */
export function loadConfig(env: Env): AggregatorConfig {
  return Object.freeze({ env: parseEnv(aggregatorEnv, env) });
}
