import os from 'node:os';
import { z } from 'zod';
import { envField, fetchAllowEnv, kafkaEnv, parseEnv, s3Env, type Env } from '@imgpipe/platform';
import { IMAGE_RETRY_TIERS } from '@imgpipe/schemas';

const MiB = 1024 * 1024;

/**
 * Processor settings (env names per the brief). Defaults are production values; the local
 * stack and tests set FETCH_ALLOW_CIDRS and shorter delays.
 */
export const processorEnv = z.object({
  ...kafkaEnv.shape,
  ...s3Env.shape,
  ...fetchAllowEnv.shape,
  LOG_LEVEL: envField.logLevel(),
  LOG_PRETTY: envField.bool(false),
  /** Ops server (/healthz /readyz /metrics). */
  HTTP_PORT: envField.port(8083),
  PUBLIC_BASE_URL: z.url().default('http://127.0.0.1:8080'),
  /** CDN/bucket base for image URLs; unset = imgpipe's own /images/… route. */
  OUTPUT_PUBLIC_BASE_URL: z.url().optional(),
  /** Images handled at once; default one per core (sharp's threads are sized to match). */
  PROCESSOR_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(os.availableParallelism()),
  PROCESSOR_GROUP_ID: z.string().min(1).default('imgpipe-processor'),
  /** How long a silent (crashed) member keeps its partitions before the group moves them. */
  PROCESSOR_SESSION_TIMEOUT_MS: envField.positiveMs(30_000),
  /** Delay before each redelivery through the delay tiers (one per tier, at most 3). */
  IMAGE_RETRY_DELAYS_MS: envField
    .list('30000,300000,1800000')
    .pipe(
      z
        .array(z.string().regex(/^\d+$/, 'expected whole milliseconds').transform(Number))
        .min(1)
        .max(IMAGE_RETRY_TIERS, `at most ${IMAGE_RETRY_TIERS} delays (one per delay tier topic)`),
    ),
  /** Pause before the one in-process retry of a transient failure. */
  IMAGE_QUICK_RETRY_MS: envField.int(1_000),
  FETCH_CONNECT_TIMEOUT_MS: envField.positiveMs(5_000),
  /** Whole download, redirects and body included. */
  FETCH_TIMEOUT_MS: envField.positiveMs(15_000),
  FETCH_MAX_BYTES: envField.int(25 * MiB, 1),
  FETCH_MAX_REDIRECTS: envField.int(3),
  IMAGE_MAX_PIXELS: envField.int(50_000_000, 1),
  COMPRESS_TIMEOUT_MS: envField.positiveMs(10_000),
  /** How long a stop lets in-flight images finish before abandoning them (uncommitted). */
  SHUTDOWN_GRACE_MS: envField.positiveMs(10_000),
});

export type ProcessorConfig = z.infer<typeof processorEnv>;

/** Env → frozen config; throws one ConfigError listing every bad variable. */
export const loadConfig = (env: Env): ProcessorConfig => parseEnv(processorEnv, env);
