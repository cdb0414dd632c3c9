import { Counter, Gauge, Histogram, STAGE_BUCKETS_SECONDS, type Registry } from '@imgpipe/platform';
import type {
  Channel,
  EmailOutcomeLabel,
  NotifierMetrics,
  WebhookOutcomeLabel,
} from '../domain/ports';
import { attemptBucket } from '../domain/schedule';

const WEBHOOK_OUTCOMES: readonly WebhookOutcomeLabel[] = [
  'success',
  'http_3xx',
  'http_4xx',
  'http_5xx',
  'timeout',
  'network',
  'blocked',
];
const EMAIL_OUTCOMES: readonly EmailOutcomeLabel[] = [
  'success',
  'rejected',
  'deferred',
  'timeout',
  'network',
  'storage',
];
const BUCKETS = ['1', '2-3', '4-6', '7+'] as const;
const CHANNELS: readonly Channel[] = ['webhook', 'email'];

/**
 * The notifier's metrics (../shared/notes/reliability.md §6.2, webhook section), every series
 * pre-initialised to 0 so dashboards and alerts see them before the first delivery. Labels are
 * closed sets: no URLs, endpoint ids or request ids.
 */
export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry];
  const webhookAttempts = new Counter({
    name: 'imgpipe_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome and attempt number range',
    labelNames: ['outcome', 'attempt_bucket'] as const,
    registers,
  });
  const webhookDuration = new Histogram({
    name: 'imgpipe_webhook_duration_seconds',
    help: 'Duration of one webhook attempt, connect to last response byte',
    labelNames: ['outcome'] as const,
    buckets: STAGE_BUCKETS_SECONDS,
    registers,
  });
  const emailAttempts = new Counter({
    name: 'imgpipe_email_attempts_total',
    help: 'Completion e-mail attempts by outcome and attempt number range',
    labelNames: ['outcome', 'attempt_bucket'] as const,
    registers,
  });
  const emailDuration = new Histogram({
    name: 'imgpipe_email_duration_seconds',
    help: 'Duration of one e-mail attempt (output CSV fetch and SMTP)',
    labelNames: ['outcome'] as const,
    buckets: STAGE_BUCKETS_SECONDS,
    registers,
  });
  const pending = new Gauge({
    name: 'imgpipe_webhook_pending',
    help: 'Delivery attempts in progress in this process',
    labelNames: ['channel'] as const,
    registers,
  });
  const webhookExhausted = new Counter({
    name: 'imgpipe_webhook_exhausted_total',
    help: 'Webhook deliveries that failed every attempt (marked FAILED and dead-lettered)',
    registers,
  });
  const emailExhausted = new Counter({
    name: 'imgpipe_email_exhausted_total',
    help: 'Completion e-mails that failed every attempt',
    registers,
  });
  const disabled = new Counter({
    name: 'imgpipe_webhook_endpoints_disabled_total',
    help: 'Registered endpoints disabled because they answered 410 Gone',
    registers,
  });
  const duplicates = new Counter({
    name: 'imgpipe_notification_duplicates_total',
    help: 'RequestCompleted events ignored because their completion id was already being delivered',
    registers,
  });
  const lastProcessed = new Gauge({
    name: 'imgpipe_last_processed_timestamp_seconds',
    help: 'When this process last finished handling a message (Unix seconds)',
    registers,
  });

  for (const outcome of WEBHOOK_OUTCOMES) {
    webhookDuration.zero({ outcome });
    for (const attempt_bucket of BUCKETS) webhookAttempts.inc({ outcome, attempt_bucket }, 0);
  }
  for (const outcome of EMAIL_OUTCOMES) {
    emailDuration.zero({ outcome });
    for (const attempt_bucket of BUCKETS) emailAttempts.inc({ outcome, attempt_bucket }, 0);
  }
  for (const channel of CHANNELS) pending.set({ channel }, 0);

  return {
    webhookAttempt(outcome, attempt, seconds) {
      webhookAttempts.inc({ outcome, attempt_bucket: attemptBucket(attempt) });
      webhookDuration.observe({ outcome }, seconds);
    },
    emailAttempt(outcome, attempt, seconds) {
      emailAttempts.inc({ outcome, attempt_bucket: attemptBucket(attempt) });
      emailDuration.observe({ outcome }, seconds);
    },
    exhausted(channel) {
      (channel === 'email' ? emailExhausted : webhookExhausted).inc();
    },
    endpointDisabled: () => disabled.inc(),
    duplicate: () => duplicates.inc(),
    inFlight(channel, delta) {
      pending.inc({ channel }, delta);
    },
    processed: () => lastProcessed.set(Date.now() / 1000),
  };
}
