import {
  cassandraEnv,
  envField,
  fetchAllowEnv,
  kafkaEnv,
  parseEnv,
  s3Env,
  type Env,
} from '@imgpipe/platform';
import { NOTIFICATION_RETRY_TIERS } from '@imgpipe/schemas';
import { z } from 'zod';
import { DEFAULT_ATTACH_MAX_BYTES } from './domain/email';
import { DEFAULT_JITTER, PRODUCTION_RETRY_DELAYS_MS } from './domain/schedule';

const delays = z
  .string()
  .default(PRODUCTION_RETRY_DELAYS_MS.join(','))
  .transform((s, ctx) => {
    const parts = s.split(',').map((p) => p.trim());
    const values = parts.map(Number);
    const bad = parts.filter((p, i) => p === '' || !Number.isInteger(values[i]) || values[i]! < 0);
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `expected comma-separated non-negative integers (ms); bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      });
      return z.NEVER;
    }
    return values;
  })
  .pipe(
    z
      .array(z.number())
      .min(1, 'at least one retry delay')
      .max(
        NOTIFICATION_RETRY_TIERS,
        `at most ${NOTIFICATION_RETRY_TIERS} delays (one delay tier topic each)`,
      ),
  );

/** Every variable the notifier reads (README configuration table). */
export const notifierEnv = kafkaEnv
  .extend(cassandraEnv.shape)
  .extend(s3Env.shape)
  .extend(fetchAllowEnv.shape)
  .extend({
    LOG_LEVEL: envField.logLevel(),
    LOG_PRETTY: envField.bool(false),
    HTTP_PORT: envField.port(8082),
    /** Waits between attempts, ms: production Standard Webhooks schedule by default. */
    WEBHOOK_RETRY_DELAYS_MS: delays,
    WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(0.9).default(DEFAULT_JITTER),
    WEBHOOK_CONNECT_TIMEOUT_MS: envField.positiveMs(5_000),
    WEBHOOK_ATTEMPT_TIMEOUT_MS: envField.positiveMs(15_000),
    WEBHOOK_REQUIRE_HTTPS: envField.bool(false),
    /** How long the enabled-endpoint list is cached per process. */
    WEBHOOK_ENDPOINT_CACHE_MS: envField.int(2_000),
    /** Unset: completion e-mails are not sent (a warning is logged when one is asked for). */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/[^\s]+$/, 'expected smtp://[user:pass@]host[:port] or smtps://…')
      .optional(),
    EMAIL_FROM: z.string().min(3).default('imgpipe <imgpipe@localhost>'),
    EMAIL_ATTACH_MAX_BYTES: envField.int(DEFAULT_ATTACH_MAX_BYTES),
    NOTIFIER_GROUP_ID: z.string().min(1).default('imgpipe-notifier'),
    /** Messages handled at once (each may wait up to 15 s on a slow receiver). */
    NOTIFIER_CONCURRENCY: envField.int(32, 1),
    KAFKA_SESSION_TIMEOUT_MS: envField.positiveMs(30_000),
    /** Apply CQL migrations at start-up (idempotent; serialised by a lock). */
    CASSANDRA_MIGRATE: envField.bool(true),
  });

export type NotifierConfig = Readonly<z.infer<typeof notifierEnv>>;

export const loadConfig = (env: Env): NotifierConfig => parseEnv(notifierEnv, env);
