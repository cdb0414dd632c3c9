/**
 * Kafka plumbing for the processor's end-to-end tests: private topics (random names, so no
 * other test file's messages are seen), a producer of ImageRequested, and a collector of
 * whatever lands on the results and dead-letter topics.
 */
import { randomUUID } from 'node:crypto';
import {
  createBus,
  createKafka,
  done,
  ensureTopics,
  Registry,
  silentLogger,
  type Bus,
  type KafkaEnv,
} from '@imgpipe/platform';
import {
  imageIdFor,
  type AnyEvent,
  type CompressionOptions,
  type ImageRequested,
  type TopicSpec,
} from '@imgpipe/schemas';
import { uniqueName, waitFor } from '../../../../test/support/env';
import type { ProcessorTopics } from '../../../src/app';

const spec = (prefix: string, partitions: number, key: TopicSpec['key']): TopicSpec => ({
  name: uniqueName(prefix),
  partitions,
  key,
  retentionMs: 3_600_000,
});

export async function privateProcessorTopics(kafkaEnv: KafkaEnv): Promise<ProcessorTopics> {
  const topics: ProcessorTopics = {
    imagesRequested: spec('it_proc_images', 4, 'imageId'),
    imagesRetry: [1, 2, 3].map((i) => spec(`it_proc_retry${i}`, 1, 'imageId')),
    imagesDlq: spec('it_proc_dlq', 1, 'original'),
    requestEvents: spec('it_proc_events', 3, 'requestId'),
  };
  const kafka = createKafka(kafkaEnv, silentLogger());
  await ensureTopics(kafka, [
    topics.imagesRequested,
    ...topics.imagesRetry,
    topics.imagesDlq,
    topics.requestEvents,
  ]);
  return topics;
}

/** Total messages ever written to `topic` (sum of high watermarks). */
export async function messageCount(kafkaEnv: KafkaEnv, topic: string): Promise<number> {
  const admin = createKafka(kafkaEnv, silentLogger()).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface Received {
  event: AnyEvent;
  key: string | null;
  topic: string;
}

/** Consumes `topics` from the beginning into `received`, until `close()`. */
export class Collector {
  readonly received: Received[] = [];
  private readonly bus: Bus;

  constructor(kafkaEnv: KafkaEnv) {
    this.bus = createBus({
      kafka: kafkaEnv,
      logger: silentLogger(),
      registry: new Registry(),
      clientId: 'processor-it-collector',
    });
  }

  async listen(topics: readonly TopicSpec[]): Promise<void> {
    const consumer = this.bus.consumer({
      groupId: uniqueName('it_proc_collector'),
      topics,
      partitionsConcurrently: 3,
      handler: (message) => {
        this.received.push({ event: message.event, key: message.key, topic: message.topic });
        return Promise.resolve(done());
      },
    });
    await consumer.start();
  }

  /** Waits until `check` over the received messages holds. */
  async until(check: (received: Received[]) => boolean, what: string, timeoutMs = 60_000) {
    await waitFor(() => (check(this.received) ? true : undefined), {
      timeoutMs,
      intervalMs: 200,
      what,
    });
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}

/** ImageRequested events for one request, one per URL (product 0, images 0..n-1). */
export function imagesFor(
  urls: readonly string[],
  options: Partial<CompressionOptions> = {},
  requestId: string = randomUUID(),
): ImageRequested[] {
  return urls.map((inputUrl, imageIndex) => ({
    eventId: randomUUID(),
    occurredAt: Date.now(),
    requestId,
    imageId: imageIdFor(requestId, 0, imageIndex),
    productIndex: 0,
    imageIndex,
    serialNumber: 'SN-IT',
    productName: `Product ${imageIndex}`,
    inputUrl,
    options: { quality: 50, format: 'keep', maxDimension: null, ...options },
  }));
}

/** Publishes ImageRequested keyed by imageId, as ingest does. */
export async function publishRequests(
  kafkaEnv: KafkaEnv,
  topic: TopicSpec,
  requests: readonly ImageRequested[],
): Promise<void> {
  const bus = createBus({
    kafka: kafkaEnv,
    logger: silentLogger(),
    registry: new Registry(),
    clientId: 'processor-it-ingest',
  });
  try {
    const producer = await bus.producer();
    await producer.send(
      topic,
      requests.map((value) => ({ name: 'ImageRequested' as const, value, key: value.imageId })),
    );
  } finally {
    await bus.close();
  }
}
