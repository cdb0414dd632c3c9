import type { Registry } from 'prom-client';
import type { KafkaEnv } from '../config';
import { ImgpipeError } from '../errors';
import { createKafka } from '../kafka/client';
import type { Logger } from '../logger';
import { busMetrics } from './bus-metrics';
import { KafkaBusConsumer } from './consumer';
import { BatchingProducer, eventProducer, type BusCompression } from './producer';
import type { Bus, BusConsumer, ConsumerOptions, EventProducer } from './types';

export interface CreateBusOptions {
  kafka: KafkaEnv;
  logger: Logger;
  /** The process registry: the bus adds its `imgpipe_bus_*` metrics to it. */
  registry: Registry;
  /** Kafka client id (shows in broker logs and quotas), e.g. the service name. */
  clientId: string;
  /** Record batch compression (default gzip, the codec kafkajs ships). */
  compression?: BusCompression;
  /** Upper bound on the uncompressed bytes of one produce request (default 900 000, under the broker's 1 MiB message.max.bytes). */
  maxBatchBytes?: number;
}

/**
 * The Kafka bus (issue 3): one idempotent, batching producer (acks=-1) shared by the
 * services' sends and the consumers' retries and dead letters, and group consumers with
 * handler outcomes, delay-tier retries, dead letters and at-least-once commits.
 * kafkajs logs go to `logger`; metrics to `registry`.
 *
 * @example
 * const bus = createBus({ kafka: config, logger, registry, clientId: 'processor' });
 * const consumer = bus.consumer({ groupId: 'processor', topics: [Topics.imagesRequested],
 *   handler, retry: { delaysMs: [30_000, 300_000, 1_800_000], tiers: Topics.imagesRetry,
 *   deadLetter: Topics.imagesDlq, onExhausted } });
 * await consumer.start();
 * ...
 * await bus.close(); // stops the consumers (in-flight handlers finish, offsets committed), flushes
 */
export function createBus(options: CreateBusOptions): Bus {
  const logger = options.logger.child({ component: 'bus' });
  const kafka = createKafka({ ...options.kafka, KAFKA_CLIENT_ID: options.clientId }, logger);
  const metrics = busMetrics(options.registry);
  const producer = new BatchingProducer({
    kafka,
    logger,
    metrics,
    compression: options.compression ?? 'gzip',
    maxBatchBytes: options.maxBatchBytes ?? 900_000,
  });
  const consumers = new Set<BusConsumer>();
  let closing: Promise<void> | undefined;
  let typed: EventProducer | undefined;

  const closed = () => new ImgpipeError('ERR_BUS_CLOSED', 'The bus is closed');

  return {
    async producer() {
      if (closing) throw closed();
      await producer.connect();
      typed ??= eventProducer(producer);
      return typed;
    },
    consumer(consumerOptions: ConsumerOptions) {
      if (closing) throw closed();
      const consumer = new KafkaBusConsumer(consumerOptions, { kafka, logger, metrics, producer });
      consumers.add(consumer);
      return consumer;
    },
    close() {
      closing ??= (async () => {
        // Consumers first: their last retries and dead letters still need the producer.
        const results = await Promise.allSettled([...consumers].map((c) => c.stop()));
        await producer.close();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}
export { DEAD_LETTER_CAUSE_HEADER, headerRecord, type DeadLetterCause } from './consumer';
