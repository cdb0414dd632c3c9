import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  createBus,
  createCassandraClient,
  createRegistry,
  createS3Client,
  done,
  errorCode,
  errorHandler,
  fail,
  httpMetrics,
  notFoundHandler,
  opsRouter,
  retry,
  type Bus,
  type BusConsumer,
  type CassandraClient,
  type Handler,
  type Logger,
  type Registry,
} from '@imgpipe/platform';
import { topicCatalogue, type TopicSpec } from '@imgpipe/schemas';
import { createCassandraStore } from './adapters/cassandra-store';
import { createCompletionPublisher } from './adapters/completion-publisher';
import { aggregatorMetrics } from './adapters/metrics';
import { createS3Objects } from './adapters/s3-objects';
import type { AggregatorConfig } from './config';
import { createMaterializer, type Materializer, type SweepReport } from './domain/materializer';
import type { Clock, RequestStore } from './domain/ports';
import { createQueryRouter } from './http/routes';

/** The topics the aggregator uses; tests pass private copies. */
export interface AggregatorTopics {
  requestEvents: TopicSpec;
  requestsCompleted: TopicSpec;
  /** Undecodable messages and events that can never apply. */
  deadLetter: TopicSpec;
}

/** The catalogue topics, with KAFKA_TOPIC_PREFIX applied. */
export const catalogueTopics = (prefix = ''): AggregatorTopics => {
  const t = topicCatalogue(prefix);
  return {
    requestEvents: t.requestEvents,
    requestsCompleted: t.requestsCompleted,
    deadLetter: t.requestEventsDlq,
  };
};

export const defaultTopics: AggregatorTopics = catalogueTopics();

export interface AggregatorDeps {
  logger: Logger;
  /** Defaults to a fresh registry with the `service="aggregator"` label. */
  registry?: Registry;
  topics?: AggregatorTopics;
  clock?: Clock;
  /** False: serve the query API only, consume nothing (default true). */
  consume?: boolean;
  /** False: no periodic sweep (tests call sweepNow). Default true. */
  sweep?: boolean;
  /**
   * Wraps the Cassandra store the materializer writes through. Crash tests use it to kill the
   * process at an exact point (after a write, before the offset commit).
   */
  wrapStore?: (store: RequestStore) => RequestStore;
}

export interface Aggregator {
  readonly app: Express;
  readonly registry: Registry;
  readonly materializer: Materializer;
  /** Connects Cassandra, listens on HTTP_PORT (0 = any), joins the consumer group. */
  start(): Promise<{ port: number }>;
  /** Readiness off, sweeps and HTTP stopped, consumer drained and committed, clients closed. Idempotent. */
  stop(): Promise<void>;
  /** `http://127.0.0.1:<port>` once started. */
  url(): string;
  isReady(): boolean;
  /** True while the consumer is in its group and consuming. */
  isConsuming(): boolean;
  /** One sweep now (timeouts, interrupted completions). */
  sweepNow(): Promise<SweepReport>;
}

/** Backoff for redelivering an event in place after a transient fault (keeps partition order). */
const redeliveryDelayMs = (attempt: number): number =>
  Math.min(5_000, 250 * 2 ** Math.max(0, attempt - 1));

/**
 * The aggregator (issue 6): consumes requests.events into the Cassandra read model, decides
 * each request's completion exactly once (output CSV in S3, latch, RequestCompleted), and
 * serves the query API and /healthz /readyz /metrics. Construction does no I/O.
 */
export function createAggregator(config: AggregatorConfig, deps: AggregatorDeps): Aggregator {
  const { env } = config;
  const logger = deps.logger;
  const registry = deps.registry ?? createRegistry('aggregator');
  const topics = deps.topics ?? catalogueTopics(env.KAFKA_TOPIC_PREFIX);
  const metrics = aggregatorMetrics(registry);
  const urls = {
    publicBaseUrl: env.PUBLIC_BASE_URL,
    outputPublicBaseUrl: env.OUTPUT_PUBLIC_BASE_URL ?? null,
  };

  const cassandra: CassandraClient = createCassandraClient(env);
  const s3: S3Client = createS3Client(env);
  const bus: Bus = createBus({
    kafka: env,
    logger,
    registry,
    clientId: env.KAFKA_CLIENT_ID ?? 'aggregator',
  });
  const store = createCassandraStore(cassandra, metrics.cassandra);
  const objects = createS3Objects(s3, env.S3_BUCKET);
  const materializer = createMaterializer({
    store: deps.wrapStore ? deps.wrapStore(store) : store,
    output: objects,
    publisher: createCompletionPublisher(() => bus.producer(), topics.requestsCompleted),
    clock: deps.clock ?? { now: () => Date.now() },
    urls,
    logger: logger.child({ component: 'materializer' }),
    metrics: metrics.domain,
    settings: {
      orphanTimeoutMs: env.AGGREGATOR_ORPHAN_TIMEOUT_MS,
      stallTimeoutMs: env.REQUEST_STALL_TIMEOUT_MS,
      recoveryGraceMs: env.AGGREGATOR_RECOVERY_GRACE_MS,
      cacheMaxRequests: env.AGGREGATOR_CACHE_MAX_REQUESTS,
      progressFlushMs: 250,
    },
  });

  const handler: Handler = async (message) => {
    const { event } = message;
    if (
      event.name !== 'RequestAccepted' &&
      event.name !== 'ImageCompressed' &&
      event.name !== 'ImageFailed'
    ) {
      metrics.domain.event(event.name, 'ignored');
      logger.warn(
        { event: event.name, topic: message.topic, offset: message.offset },
        'event of another kind on requests.events: skipped',
      );
      return done();
    }
    try {
      await materializer.apply(event, {
        partition: `${message.topic}/${message.partition}`,
        offset: BigInt(message.offset),
      });
      return done();
    } catch (err) {
      const log = logger.child({
        requestId: event.value.requestId,
        partition: message.partition,
        offset: message.offset,
      });
      if (errorCode(err) === 'ERR_INVALID_EVENT') {
        log.error({ err, event: event.name }, 'event can never be applied: dead-lettering it');
        return fail((err as Error).message);
      }
      // Cassandra, S3 or Kafka unavailable: the same event again, in place, after a short
      // backoff. The partition waits (its events must not be skipped); others go on.
      const delayMs = redeliveryDelayMs(message.attempt);
      log.warn({ err, attempt: message.attempt, delayMs }, 'event not applied; redelivering it');
      return retry(err instanceof Error ? err.message : String(err), delayMs);
    }
  };

  let consumer: BusConsumer | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let ready = false;
  let stopping: Promise<void> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<SweepReport> | undefined;

  const sweepNow = (): Promise<SweepReport> => {
    sweeping ??= materializer.sweep().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  const scheduleSweep = (): void => {
    sweepTimer = setTimeout(() => {
      sweepNow()
        .then((report) => {
          if (report.closedOrphans + report.closedStalled + report.recovered > 0) {
            logger.info(report, 'sweep acted on open requests');
          }
        })
        .catch((err: unknown) => logger.error({ err }, 'sweep failed; the next one retries'))
        .finally(() => {
          if (!stopping) scheduleSweep();
        });
    }, env.AGGREGATOR_SWEEP_INTERVAL_MS);
    sweepTimer.unref();
  };

  /** One attempt to join the group and consume; false (logged) when it fails. */
  async function startConsumer(): Promise<boolean> {
    const attempt = bus.consumer({
      groupId: env.AGGREGATOR_GROUP_ID,
      topics: [topics.requestEvents],
      handler,
      deadLetter: topics.deadLetter,
      partitionsConcurrently: env.AGGREGATOR_PARTITIONS_CONCURRENTLY,
      sessionTimeoutMs: env.AGGREGATOR_SESSION_TIMEOUT_MS,
      // A third of the session timeout (Kafka's guidance), never above the 3 s default.
      heartbeatIntervalMs: Math.max(
        100,
        Math.min(3_000, Math.floor(env.AGGREGATOR_SESSION_TIMEOUT_MS / 3)),
      ),
      // A fetch response is decoded in one synchronous go on the event loop the query API
      // shares: 256 KiB per partition (~800 result events) keeps that chunk short while
      // still far more than a partition applies between two fetches.
      maxBytesPerPartition: 256 * 1024,
    });
    consumer = attempt;
    try {
      await attempt.start();
      return true;
    } catch (err) {
      logger.error({ err }, 'could not start consuming requests.events; retrying');
      await attempt.stop().catch(() => undefined);
      return false;
    }
  }

  async function retryConsumer(): Promise<void> {
    for (let n = 1; !stopping; n += 1) {
      await new Promise<void>((resolve) => {
        retryTimer = setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** n));
      });
      if (stopping || (await startConsumer())) return;
    }
  }

  const app = express();
  app.disable('x-powered-by');
  // Status answers are `no-store` and downloads carry S3's ETag: hashing every JSON body for
  // a weak ETag would only cost CPU on the loop that also applies events.
  app.set('etag', false);
  app.use(httpMetrics(registry));
  app.use(opsRouter(registry, { isReady: () => ready }));
  app.use(createQueryRouter({ readModel: store, objects, urls, logger }));
  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  let server: Server | undefined;

  return {
    app,
    registry,
    materializer,
    isReady: () => ready,
    isConsuming: () => consumer?.isRunning() ?? false,
    sweepNow,
    url() {
      const address = server?.address() as AddressInfo | null | undefined;
      if (!address) throw new Error('aggregator is not listening');
      return `http://127.0.0.1:${address.port}`;
    },
    async start() {
      await cassandra.connect();
      const listening = app.listen(env.HTTP_PORT);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('listening', resolve);
        listening.once('error', reject);
      });
      // The query API only needs Cassandra and S3: ready before the group is joined.
      ready = true;
      if (deps.consume !== false) {
        materializer.forgetAll();
        // The query API keeps serving while Kafka is unreachable: a failed first join is
        // retried in the background instead of failing the whole service.
        if (!(await startConsumer())) void retryConsumer();
      }
      // A first sweep right away finishes completions a crashed instance left unpublished.
      if (deps.sweep !== false) {
        sweepNow().catch((err: unknown) => logger.error({ err }, 'startup sweep failed'));
        scheduleSweep();
      }
      const { port } = listening.address() as AddressInfo;
      logger.info({ port, consuming: deps.consume !== false }, 'aggregator started');
      return { port };
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        clearTimeout(sweepTimer);
        clearTimeout(retryTimer);
        await sweeping?.catch(() => undefined);
        const listening = server;
        if (listening !== undefined) {
          const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
          listening.closeIdleConnections();
          await closed;
        }
        // Consumer first (in-flight events finish and are committed), then the producer;
        // then the progress writes still waiting for their period, while Cassandra is open.
        const busClosed = [
          ...(await Promise.allSettled([bus.close()])),
          ...(await Promise.allSettled([materializer.flush()])),
        ];
        const clients = await Promise.allSettled([
          cassandra.shutdown(),
          Promise.resolve(s3.destroy()),
        ]);
        for (const r of [...busClosed, ...clients]) {
          if (r.status === 'rejected') logger.warn({ err: r.reason as unknown }, 'close failed');
        }
      })();
      return stopping;
    },
  };
}
