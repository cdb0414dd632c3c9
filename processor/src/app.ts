import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import {
  createBus,
  createRegistry,
  createS3Client,
  ensureBucket,
  notFoundHandler,
  opsRouter,
  done,
  fail,
  retry,
  type Bus,
  type BusConsumer,
  type IncomingMessage,
  type Logger,
  type Registry,
} from '@imgpipe/platform';
import { topicCatalogue, type TopicSpec } from '@imgpipe/schemas';
import { createHttpFetcher } from './adapters/http-fetcher';
import { createProcessorMetrics } from './adapters/metrics';
import { createResultPublisher } from './adapters/result-publisher';
import { createS3Store } from './adapters/s3-store';
import { configureSharp, createSharpCompressor } from './adapters/sharp/compressor';
import type { ProcessorConfig } from './config';
import { createImageHandler, type Delivery } from './domain/image-handler';
import { createImagePipeline } from './domain/pipeline';
import type { Clock } from './domain/ports';

/** The topics the processor uses; the catalogue by default, private ones in tests. */
export interface ProcessorTopics {
  imagesRequested: TopicSpec;
  imagesRetry: readonly TopicSpec[];
  imagesDlq: TopicSpec;
  requestEvents: TopicSpec;
}

export interface ProcessorDeps {
  logger: Logger;
  /** Defaults to a fresh `processor` registry. */
  registry?: Registry;
  /** Defaults to a Kafka bus from the config; closed by `stop()` either way. */
  bus?: Bus;
  topics?: ProcessorTopics;
}

export interface Processor {
  /** Ensures the bucket, starts the ops server and joins the consumer group. */
  start(): Promise<void>;
  /**
   * Graceful stop: /readyz → 503, the consumer stops taking images and lets in-flight ones
   * finish (abandoning them uncommitted after SHUTDOWN_GRACE_MS), producers flush, clients
   * close. Idempotent.
   */
  stop(): Promise<void>;
  /** True once consuming and until stopping. */
  isReady(): boolean;
  /** Ops server port (useful with HTTP_PORT=0). */
  port(): number;
  readonly registry: Registry;
}

const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/**
 * Composition root: the downloader, sharp, S3, the image handler and the Kafka consumer
 * (images.requested + delay tiers → requests.events), plus the ops server.
 */
export function createProcessor(config: ProcessorConfig, deps: ProcessorDeps): Processor {
  const logger = deps.logger.child({ component: 'processor' });
  const registry = deps.registry ?? createRegistry('processor');
  const catalogue = topicCatalogue(config.KAFKA_TOPIC_PREFIX);
  const topics = deps.topics ?? {
    imagesRequested: catalogue.imagesRequested,
    imagesRetry: catalogue.imagesRetry,
    imagesDlq: catalogue.imagesDlq,
    requestEvents: catalogue.requestEvents,
  };
  const concurrency = config.PROCESSOR_CONCURRENCY;
  // One libvips thread per image in flight when there are as many images as cores; more
  // threads per image only when fewer images run at once (issue 5: pool sized to match).
  configureSharp(Math.max(1, Math.floor(os.availableParallelism() / concurrency)));

  const bus =
    deps.bus ??
    createBus({ kafka: config, logger: deps.logger, registry, clientId: 'imgpipe-processor' });
  const s3 = createS3Client(config);
  const fetcher = createHttpFetcher({
    allow: config.FETCH_ALLOW_CIDRS,
    connectTimeoutMs: config.FETCH_CONNECT_TIMEOUT_MS,
    totalTimeoutMs: config.FETCH_TIMEOUT_MS,
    maxBytes: config.FETCH_MAX_BYTES,
    maxRedirects: config.FETCH_MAX_REDIRECTS,
  });
  const observer = createProcessorMetrics(registry);
  const pipeline = createImagePipeline({
    fetcher,
    compressor: createSharpCompressor({
      maxPixels: config.IMAGE_MAX_PIXELS,
      timeoutMs: config.COMPRESS_TIMEOUT_MS,
    }),
    store: createS3Store(s3, config.S3_BUCKET),
    observer,
    clock: systemClock,
    urls: {
      publicBaseUrl: config.PUBLIC_BASE_URL,
      outputPublicBaseUrl: config.OUTPUT_PUBLIC_BASE_URL ?? null,
    },
  });

  const delays = config.IMAGE_RETRY_DELAYS_MS;
  let consumer: BusConsumer | undefined;
  let server: Server | undefined;
  let stopping: Promise<void> | undefined;
  let started = false;

  const toDelivery = (message: IncomingMessage): Delivery | undefined =>
    message.event.name === 'ImageRequested'
      ? {
          request: message.event.value,
          attempt: message.attempt,
          heartbeat: () => message.heartbeat(),
          signal: message.signal,
        }
      : undefined;

  async function startConsumer(): Promise<void> {
    const producer = await bus.producer();
    const handler = createImageHandler({
      pipeline,
      publisher: createResultPublisher(producer, topics.requestEvents),
      observer,
      clock: systemClock,
      ids: { eventId: randomUUID },
      retry: { maxDeliveries: delays.length + 1, quickRetryMs: config.IMAGE_QUICK_RETRY_MS },
    });
    consumer = bus.consumer({
      groupId: config.PROCESSOR_GROUP_ID,
      topics: [topics.imagesRequested],
      partitionsConcurrently: concurrency,
      maxInFlight: concurrency,
      stopGraceMs: config.SHUTDOWN_GRACE_MS,
      sessionTimeoutMs: config.PROCESSOR_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: Math.min(3_000, Math.floor(config.PROCESSOR_SESSION_TIMEOUT_MS / 3)),
      retry: {
        delaysMs: delays,
        tiers: topics.imagesRetry.slice(0, delays.length),
        deadLetter: topics.imagesDlq,
        onExhausted: async (message, reason) => {
          const delivery = toDelivery(message);
          if (delivery) await handler.exhausted(delivery, reason);
        },
      },
      handler: async (message) => {
        const delivery = toDelivery(message);
        if (!delivery) return fail(`unexpected ${message.event.name} on ${message.topic}`);
        const log = logger.child({
          requestId: delivery.request.requestId,
          imageId: delivery.request.imageId,
          attempt: delivery.attempt,
        });
        const decision = await handler.handle(delivery);
        if (decision.kind === 'done') return done();
        log.info({ reason: decision.reason }, 'image failed transiently; retrying later');
        return retry(decision.reason, decision.afterMs);
      },
    });
    await consumer.start();
  }

  return {
    registry,
    async start() {
      await ensureBucket(s3, config.S3_BUCKET);
      const app = express();
      app.disable('x-powered-by');
      app.use(
        opsRouter(registry, {
          isReady: () => started && !stopping && (consumer?.isRunning() ?? false),
        }),
      );
      app.use(notFoundHandler);
      server = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(config.HTTP_PORT, () => resolve(s));
        s.once('error', reject);
      });
      await startConsumer();
      started = true;
      logger.info(
        { concurrency, port: (server.address() as AddressInfo).port, retryDelaysMs: delays },
        'processor started',
      );
    },
    stop() {
      stopping ??= (async () => {
        // Readiness is already off (isReady checks `stopping`); then intake, then clients.
        await bus.close().catch((err: unknown) => logger.error({ err }, 'bus close failed'));
        await fetcher.close().catch(() => undefined);
        s3.destroy();
        await new Promise<void>((resolve) => {
          if (!server) return resolve();
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info('processor stopped');
      })();
      return stopping;
    },
    isReady: () => started && !stopping && (consumer?.isRunning() ?? false),
    port: () => (server?.address() as AddressInfo | null)?.port ?? 0,
  };
}
