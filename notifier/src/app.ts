import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createBus,
  createCassandraClient,
  createRegistry,
  createS3Client,
  done,
  fail,
  migrate,
  retry,
  type Bus,
  type BusConsumer,
  type IncomingMessage,
  type Logger,
  type Outcome,
  type Registry,
} from '@imgpipe/platform';
import { cqlMigrationsDir, topicCatalogue, type TopicSpec } from '@imgpipe/schemas';
import { createCassandraAttemptLog, createCassandraTargets } from './adapters/cassandra-deliveries';
import { createCassandraEndpoints } from './adapters/cassandra-endpoints';
import { createHttpSender } from './adapters/http-sender';
import { createNotifierMetrics } from './adapters/metrics';
import { createS3Results } from './adapters/s3-results';
import { createSmtpMailer } from './adapters/smtp-mailer';
import type { NotifierConfig } from './config';
import {
  createDeliveryService,
  type CompletionMessage,
  type HandleResult,
} from './domain/deliveries';
import { createEndpointDirectory } from './domain/endpoint-cache';
import { createEndpointService } from './domain/endpoints';
import { DomainError } from './domain/errors';
import type { Clock } from './domain/ports';
import { createSchedule, minDelayMs } from './domain/schedule';
import { createHttpApp } from './http/server';

export interface NotifierDeps {
  logger: Logger;
  /** The process registry (main.ts); a fresh one per instance by default (tests). */
  registry?: Registry;
  clock?: Clock;
  random?: () => number;
}

export interface Notifier {
  /** Migrates (when configured), connects, starts consuming and listens on HTTP_PORT. */
  start(): Promise<void>;
  /** Graceful and idempotent: readiness off, HTTP closed, consumer drained, clients closed. */
  stop(): Promise<void>;
  /** True once consuming and serving, false again while stopping (/readyz). */
  isReady(): boolean;
  /** The HTTP base URL once started (`http://127.0.0.1:<port>` for port 0 in tests). */
  url(): string;
  readonly registry: Registry;
}

/** The catalogue topics the notifier uses, with KAFKA_TOPIC_PREFIX applied. */
export function notifierTopics(prefix: string): {
  completed: TopicSpec;
  tiers: readonly TopicSpec[];
  deadLetter: TopicSpec;
} {
  const t = topicCatalogue(prefix);
  return {
    completed: t.requestsCompleted,
    tiers: t.notificationsRetry,
    deadLetter: t.notificationsDlq,
  };
}

/** A stable id for a consumed record: its original coordinates and attempt. */
const claimOf = (m: IncomingMessage): string =>
  `${m.topic}/${m.partition}/${m.offset}#${m.attempt}`;

const toOutcome = (r: HandleResult): Outcome =>
  r.kind === 'done' ? done() : r.kind === 'retry' ? retry(r.reason, r.afterMs) : fail(r.reason);

/**
 * The notifier (issue 7): consumes requests.completed, delivers signed webhooks and the
 * completion e-mail with durable retries through the notification delay tiers, and serves
 * endpoint registration on /webhooks. Construction connects nothing; `start()` does.
 */
export function createNotifier(config: NotifierConfig, deps: NotifierDeps): Notifier {
  const logger = deps.logger;
  const registry = deps.registry ?? createRegistry('notifier');
  const clock: Clock = deps.clock ?? { now: () => Date.now() };
  const schedule = createSchedule(config.WEBHOOK_RETRY_DELAYS_MS, config.WEBHOOK_RETRY_JITTER);
  const topics = notifierTopics(config.KAFKA_TOPIC_PREFIX);

  const cassandra = createCassandraClient(config);
  const s3 = createS3Client(config);
  const endpointsRepo = createCassandraEndpoints(cassandra);
  const directory = createEndpointDirectory(endpointsRepo, clock, config.WEBHOOK_ENDPOINT_CACHE_MS);
  const sender = createHttpSender({
    allow: config.FETCH_ALLOW_CIDRS,
    connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
    attemptTimeoutMs: config.WEBHOOK_ATTEMPT_TIMEOUT_MS,
  });
  const mailer = config.SMTP_URL
    ? createSmtpMailer({ url: config.SMTP_URL, from: config.EMAIL_FROM })
    : null;
  const metrics = createNotifierMetrics(registry);
  const deliveries = createDeliveryService({
    targets: createCassandraTargets(cassandra),
    log: createCassandraAttemptLog(cassandra),
    endpoints: directory,
    sender,
    mailer,
    results: createS3Results(s3, config.S3_BUCKET),
    metrics,
    clock,
    schedule,
    attachMaxBytes: config.EMAIL_ATTACH_MAX_BYTES,
    logger: logger.child({ component: 'deliveries' }),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const endpoints = createEndpointService({
    repository: endpointsRepo,
    clock,
    urlPolicy: { allow: config.FETCH_ALLOW_CIDRS, requireHttps: config.WEBHOOK_REQUIRE_HTTPS },
    onChange: () => directory.invalidate(),
  });

  let bus: Bus | undefined;
  let consumer: BusConsumer | undefined;
  let server: Server | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;

  const completionOf = (m: IncomingMessage): CompletionMessage => {
    if (m.event.name !== 'RequestCompleted') {
      throw new DomainError(
        'ERR_UNEXPECTED_EVENT',
        `expected RequestCompleted, got ${m.event.name}`,
      );
    }
    return { event: m.event.value, attempt: m.attempt, claim: claimOf(m), signal: m.signal };
  };

  const app = createHttpApp({
    endpoints,
    registry,
    readiness: { isReady: () => started && !stopping && consumer?.isRunning() === true },
    logger: logger.child({ component: 'http' }),
  });

  return {
    registry,

    async start() {
      if (config.CASSANDRA_MIGRATE) {
        await migrate(config, { dir: cqlMigrationsDir, logger, owner: `notifier-${process.pid}` });
      }
      await cassandra.connect();
      bus = createBus({ kafka: config, logger, registry, clientId: 'imgpipe-notifier' });
      const handlerLog = logger.child({ component: 'consumer' });
      consumer = bus.consumer({
        groupId: config.NOTIFIER_GROUP_ID,
        topics: [topics.completed],
        handler: async (message) => {
          // Other events on the topic are not ours: a contract violation, dead-lettered.
          if (message.event.name !== 'RequestCompleted') {
            return fail(`unexpected ${message.event.name} on ${message.topic}`);
          }
          const completion = completionOf(message);
          const result = await deliveries.handle(completion);
          if (result.kind !== 'done') {
            handlerLog.info(
              {
                requestId: completion.event.requestId,
                attempt: message.attempt,
                outcome: result.kind,
              },
              result.reason,
            );
          }
          return toOutcome(result);
        },
        retry: {
          // The bus waits at least delaysMs[n-1] before attempt n+1; the domain asks for the
          // jittered (and Retry-After) wait with `afterMs`, so the floor is the lower jitter bound.
          delaysMs: schedule.delaysMs.map((_, i) => minDelayMs(schedule, i + 1) ?? 0),
          tiers: topics.tiers.slice(0, schedule.delaysMs.length),
          deadLetter: topics.deadLetter,
          onExhausted: async (message, reason, outcome) => {
            if (message.event.name !== 'RequestCompleted') return;
            // After a `fail` every target is already final; after a fault on the last attempt
            // the still-open targets are closed as FAILED here.
            if (outcome === 'retry') await deliveries.giveUp(completionOf(message), reason);
          },
        },
        partitionsConcurrently: config.NOTIFIER_CONCURRENCY,
        maxInFlight: config.NOTIFIER_CONCURRENCY,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        heartbeatIntervalMs: Math.min(3_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3)),
      });
      await consumer.start();
      await new Promise<void>((resolve, reject) => {
        const s = app.listen(config.HTTP_PORT, () => resolve());
        s.once('error', reject);
        server = s;
      });
      started = true;
      logger.info(
        {
          port: (server!.address() as AddressInfo).port,
          topic: topics.completed.name,
          maxAttempts: schedule.maxAttempts,
          email: mailer !== null,
        },
        'notifier started',
      );
    },

    stop() {
      stopping ??= (async () => {
        const steps: [string, () => Promise<unknown> | void][] = [
          [
            'http',
            () =>
              new Promise<void>((resolve) => {
                if (!server) return resolve();
                server.close(() => resolve());
                server.closeIdleConnections();
                setTimeout(() => server?.closeAllConnections(), 2_000).unref();
              }),
          ],
          ['bus', () => bus?.close()],
          ['sender', () => sender.close()],
          ['mailer', () => mailer?.close()],
          ['cassandra', () => cassandra.shutdown()],
          ['s3', () => s3.destroy()],
        ];
        for (const [name, step] of steps) {
          try {
            await step();
          } catch (err) {
            logger.error({ err, step: name }, 'shutdown step failed');
          }
        }
      })();
      return stopping;
    },

    isReady: () => started && !stopping && consumer?.isRunning() === true,

    url() {
      const address = server?.address() as AddressInfo | null | undefined;
      if (!address) throw new Error('notifier not started');
      return `http://127.0.0.1:${address.port}`;
    },
  };
}
