import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { cassandraEnv, envField, kafkaEnv, parseEnv, s3Env, type Env } from '@imgpipe/platform';
import type { UploadLimits } from './domain/limits';
import { DEFAULT_LIMITS } from './domain/limits';

const httpUrl = (def: string) =>
  z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .default(def)
    .transform((u) => u.replace(/\/+$/, ''));

/** Every env var ingest reads, with defaults that work with the local stack (deploy/local). */
export const ingestEnv = kafkaEnv
  .extend(cassandraEnv.shape)
  .extend(s3Env.shape)
  .extend({
    LOG_LEVEL: envField.logLevel(),
    LOG_PRETTY: envField.bool(false),
    HTTP_PORT: envField.port(8080),
    PUBLIC_BASE_URL: httpUrl('http://127.0.0.1:8080'),
    AGGREGATOR_URL: httpUrl('http://127.0.0.1:8081'),
    NOTIFIER_URL: httpUrl('http://127.0.0.1:8082'),
    /** Idle timeout of a forwarded request (no bytes either way for this long → 504). */
    UPSTREAM_TIMEOUT_MS: envField.positiveMs(15_000),
    UPLOAD_MAX_BYTES: envField.int(DEFAULT_LIMITS.maxFileBytes, 1),
    UPLOAD_MAX_ROWS: envField.int(DEFAULT_LIMITS.maxRows, 1),
    UPLOAD_MAX_IMAGES: envField.int(DEFAULT_LIMITS.maxImages, 1),
    UPLOAD_MAX_URLS_PER_ROW: envField.int(DEFAULT_LIMITS.maxUrlsPerRow, 1),
    /** Where uploads are spooled while they are validated (deleted right after). */
    UPLOAD_SPOOL_DIR: z.string().default(path.join(os.tmpdir(), 'imgpipe-ingest')),
    /** ImageRequested events per produce call. */
    PUBLISH_BATCH_SIZE: envField.int(1_000, 1),
    /** Retry-After (seconds) sent with 503s. */
    RETRY_AFTER_SECONDS: envField.int(5, 1),
    /** How long an Idempotency-Key replays its 202 (default 24 h). */
    IDEMPOTENCY_TTL_SECONDS: envField.int(86_400, 60),
    /** How long an unfinished first attempt holds its key (a crashed one frees it after this). */
    IDEMPOTENCY_CLAIM_TTL_SECONDS: envField.int(300, 10),
    /** Apply the CQL migrations at start (main.ts); off when a deploy job does it. */
    MIGRATE_ON_START: envField.bool(true),
  });

export type IngestEnv = z.infer<typeof ingestEnv>;

export interface IngestConfig {
  readonly env: IngestEnv;
  readonly limits: UploadLimits;
}

/** Env → typed, frozen config; one error listing every bad variable. */
export function loadConfig(env: Env): IngestConfig {
  const parsed = parseEnv(ingestEnv, env);
  const limits: UploadLimits = Object.freeze({
    ...DEFAULT_LIMITS,
    maxFileBytes: parsed.UPLOAD_MAX_BYTES,
    maxRows: parsed.UPLOAD_MAX_ROWS,
    maxImages: parsed.UPLOAD_MAX_IMAGES,
    maxUrlsPerRow: parsed.UPLOAD_MAX_URLS_PER_ROW,
  });
  return Object.freeze({ env: parsed, limits });
}
