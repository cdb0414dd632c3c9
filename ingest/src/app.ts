import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import {
  createBus,
  createCassandraClient,
  createRegistry,
  createS3Client,
  errorBody,
  errorHandler,
  httpMetrics,
  notFoundHandler,
  opsRouter,
  type Bus,
  type CassandraClient,
  type Logger,
  type Registry,
} from '@imgpipe/platform';
import type { S3Client } from '@aws-sdk/client-s3';
import { createCassandraIdempotencyStore } from './adapters/cassandra-idempotency-store';
import { createKafkaPublisher, type KafkaPublisher } from './adapters/kafka-publisher';
import { createS3InputStore } from './adapters/s3-input-store';
import { ensureSpoolDir } from './adapters/spool-file';
import type { IngestConfig } from './config';
import { catalogueTopics, createUploadAcceptor, type IngestTopics } from './domain/accept-upload';
import type { EventPublisher, IdempotencyStore, InputStore } from './domain/ports';
import { edgeProxy } from './http/edge-proxy';
import { publicSite } from './http/public-site';
import { uploadHandler } from './http/upload-route';

/** Routes the aggregator owns; ingest forwards them so users need one base URL. */
export const AGGREGATOR_ROUTES = [
  '/status/:requestId',
  '/api/status/:requestId',
  '/requests/:requestId/output.csv',
  '/api/download/:requestId',
  '/images/:requestId/:product/:image',
];
/** Routes the notifier owns (all methods). */
export const NOTIFIER_ROUTES = ['/webhooks', '/webhooks/*rest'];
export const UPLOAD_ROUTES = ['/upload', '/api/upload'];

/** How long stop() lets in-flight requests finish before cutting their connections. */
const STOP_GRACE_MS = 10_000;

export interface IngestDeps {
  logger: Logger;
  /** Defaults to a fresh registry with the `service="ingest"` label. */
  registry?: Registry;
  /** Port overrides (unit tests use in-memory fakes); real adapters are built otherwise. */
  publisher?: EventPublisher;
  inputs?: InputStore;
  idempotency?: IdempotencyStore;
  /** Topics to publish to (default: the catalogue's). Benchmarks use private ones. */
  topics?: IngestTopics;
}

export interface Ingest {
  readonly app: Express;
  readonly registry: Registry;
  /** Listens on HTTP_PORT (0 = any free port) and resolves with the bound port. */
  start(): Promise<{ port: number }>;
  /** Readiness off, HTTP closed after in-flight uploads, producer flushed, clients closed. Idempotent. */
  stop(): Promise<void>;
  /** `http://127.0.0.1:<port>` once started. */
  url(): string;
  isReady(): boolean;
}

/**
 * The ingest service (issue #4): POST /upload (CSV validation, input CSV to S3,
 * RequestAccepted + ImageRequested to Kafka), the public edge that forwards the aggregator's
 * and the notifier's routes, and /healthz /readyz /metrics. Construction does no I/O; clients
 * connect lazily, so ingest starts and serves the edge while Kafka, S3 or Cassandra are down
 * (uploads then get 503 with Retry-After).
 */
export function createIngest(config: IngestConfig, deps: IngestDeps): Ingest {
  const { env, limits } = config;
  const logger = deps.logger;
  const registry = deps.registry ?? createRegistry('ingest');

  let bus: Bus | undefined;
  let kafkaPublisher: KafkaPublisher | undefined;
  let s3: S3Client | undefined;
  let cassandra: CassandraClient | undefined;

  let publisher = deps.publisher;
  if (publisher === undefined) {
    bus = createBus({ kafka: env, logger, registry, clientId: env.KAFKA_CLIENT_ID ?? 'ingest' });
    kafkaPublisher = createKafkaPublisher(bus, logger.child({ component: 'publisher' }));
    publisher = kafkaPublisher;
  }
  let inputs = deps.inputs;
  if (inputs === undefined) {
    s3 = createS3Client(env);
    inputs = createS3InputStore(s3, env.S3_BUCKET);
  }
  let idempotency = deps.idempotency;
  if (idempotency === undefined) {
    cassandra = createCassandraClient(env);
    idempotency = createCassandraIdempotencyStore(cassandra, {
      retentionSeconds: env.IDEMPOTENCY_TTL_SECONDS,
      claimSeconds: env.IDEMPOTENCY_CLAIM_TTL_SECONDS,
    });
  }

  const acceptor = createUploadAcceptor({
    publisher,
    inputs,
    idempotency,
    logger: logger.child({ component: 'upload' }),
    publicBaseUrl: env.PUBLIC_BASE_URL,
    batchSize: env.PUBLISH_BATCH_SIZE,
    retryAfterSeconds: env.RETRY_AFTER_SECONDS,
    topics: deps.topics ?? catalogueTopics(env.KAFKA_TOPIC_PREFIX),
  });

  let ready = false;
  const readiness = { isReady: () => ready };
  const proxyOptions = {
    idleTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
    retryAfterSeconds: env.RETRY_AFTER_SECONDS,
    logger,
  };
  const aggregator = edgeProxy({
    ...proxyOptions,
    upstream: env.AGGREGATOR_URL,
    name: 'aggregator',
  });
  const notifier = edgeProxy({ ...proxyOptions, upstream: env.NOTIFIER_URL, name: 'notifier' });
  const app = express();
  app.disable('x-powered-by');
  app.use(httpMetrics(registry));
  app.use(opsRouter(registry, readiness));
  // One route per path (not an array): the HTTP metrics label each by its own template.
  const upload = uploadHandler({
    acceptor,
    limits,
    spoolDir: env.UPLOAD_SPOOL_DIR,
    logger,
    registry,
  });
  for (const path of UPLOAD_ROUTES) {
    app.post(path, upload);
    app.all(path, (req: Request, res: Response) => {
      res
        .status(405)
        .setHeader('Allow', 'POST')
        .json(
          errorBody(
            'ERR_METHOD_NOT_ALLOWED',
            `${req.method} ${req.path}: use POST with multipart/form-data`,
          ),
        );
    });
  }
  for (const path of AGGREGATOR_ROUTES) app.get(path, aggregator.handler);
  for (const path of NOTIFIER_ROUTES) app.all(path, notifier.handler);
  app.use(publicSite());
  app.use(notFoundHandler);
  app.use(errorHandler(logger));

  let server: Server | undefined;
  let stopping: Promise<void> | undefined;

  return {
    app,
    registry,
    isReady: () => ready,
    url() {
      const address = server?.address() as AddressInfo | null | undefined;
      if (!address) throw new Error('ingest is not listening');
      return `http://127.0.0.1:${address.port}`;
    },
    async start() {
      const swept = await ensureSpoolDir(env.UPLOAD_SPOOL_DIR);
      if (swept > 0) logger.warn({ swept }, 'deleted spool files left by a crashed process');
      const listening = app.listen(env.HTTP_PORT);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('listening', resolve);
        listening.once('error', reject);
      });
      ready = true;
      // Connect ahead of the first upload; a failure here is retried on first use.
      kafkaPublisher?.warmUp().catch(() => undefined);
      const { port } = listening.address() as AddressInfo;
      logger.info({ port }, 'ingest listening');
      return { port };
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        const listening = server;
        if (listening !== undefined) {
          // In-flight uploads finish (their events are published); idle keep-alive sockets go.
          const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
          listening.closeIdleConnections();
          // A client that stalls mid-upload must not hold shutdown for ever.
          const force = setTimeout(() => listening.closeAllConnections(), STOP_GRACE_MS);
          force.unref();
          await closed;
          clearTimeout(force);
        }
        aggregator.close();
        notifier.close();
        const results = await Promise.allSettled([
          bus?.close(),
          cassandra?.shutdown(),
          Promise.resolve(s3?.destroy()),
        ]);
        for (const r of results) {
          if (r.status === 'rejected')
            logger.error({ err: r.reason as unknown }, 'closing a client failed');
        }
      })();
      return stopping;
    },
  };
}
