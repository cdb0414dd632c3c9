import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { encodeEvent, type TopicSpec } from '@imgpipe/schemas';
import { ImgpipeError } from '../errors';
import type { Logger } from '../logger';
import type { BusMetrics } from './bus-metrics';
import type { EventProducer, OutgoingEvent } from './types';

export type BusCompression = 'gzip' | 'none';

export interface BatchingProducerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: BusMetrics;
  compression: BusCompression;
  /** Upper bound on the (uncompressed) bytes of one produce request. */
  maxBatchBytes: number;
}

/** Estimated bytes of a record on the wire before compression (record header overhead ~70 B). */
const recordBytes = (m: Message): number => {
  let n = 70 + (m.key ? Buffer.byteLength(m.key) : 0);
  n += Buffer.isBuffer(m.value) ? m.value.length : m.value ? Buffer.byteLength(m.value) : 0;
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    n += k.length + (typeof v === 'string' || Buffer.isBuffer(v) ? Buffer.byteLength(v) : 16);
  }
  return n;
};

interface Chunk {
  topic: string;
  messages: Message[];
  bytes: number;
  call: SendCall;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface SendCall {
  /** Set when an earlier chunk of the same send() failed: later chunks are not sent. */
  failed: unknown;
}

/**
 * One idempotent kafkajs producer behind a queue: concurrent `send` calls made while a
 * request is in flight are coalesced into the next produce request (batching without a
 * linger delay), and one request is in flight at a time, so per-key order is the call order.
 *
 * Idempotence: kafkajs keeps the producer's sequence numbers in memory and rolls them back
 * when a request fails for good. If that request had in fact been written (a timeout), the
 * next request would reuse its sequence and the broker would drop it as a duplicate while
 * acknowledging it. So a producer that saw a failed request is replaced by a fresh one (new
 * producer id) before anything else is sent.
 */
export class BatchingProducer {
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private readonly queue: Chunk[] = [];
  private pumping: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: BatchingProducerOptions) {}

  /** Connects (once) so that a misconfigured broker list fails at start, not at first send. */
  async connect(): Promise<void> {
    await this.current();
  }

  /** Sends raw records to one topic; resolves when every record is acknowledged by all ISRs. */
  send(topic: string, messages: readonly Message[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(new ImgpipeError('ERR_BUS_CLOSED', 'The bus is closed'));
    }
    if (messages.length === 0) return Promise.resolve();
    const call: SendCall = { failed: undefined };
    const acks: Promise<void>[] = [];
    let chunk: Message[] = [];
    let bytes = 0;
    const push = () => {
      const taken = chunk;
      const size = bytes;
      acks.push(
        new Promise<void>((resolve, reject) => {
          this.queue.push({ topic, messages: taken, bytes: size, call, resolve, reject });
        }),
      );
      chunk = [];
      bytes = 0;
    };
    for (const m of messages) {
      const b = recordBytes(m);
      if (chunk.length > 0 && bytes + b > this.options.maxBatchBytes) push();
      chunk.push(m);
      bytes += b;
    }
    push();
    this.pump();
    return Promise.all(acks).then(() => undefined);
  }

  /** Waits for queued sends, then disconnects. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pumping;
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect();
  }

  private pump(): void {
    if (this.pumping) return;
    // setImmediate: sends made in the same tick (a handler's fan-out) join the first request.
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .catch((err: unknown) => {
        // sendChunks settles its own chunks; this is a bug guard so no caller waits forever.
        this.options.logger.error({ err }, 'producer queue failed');
        for (const c of this.queue.splice(0)) c.reject(err);
      })
      .finally(() => {
        this.pumping = undefined;
        if (this.queue.length > 0) this.pump();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const taken: Chunk[] = [];
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (taken.length > 0 && bytes + next.bytes > this.options.maxBatchBytes) break;
        this.queue.shift();
        if (next.call.failed !== undefined) {
          next.reject(next.call.failed);
          continue;
        }
        taken.push(next);
        bytes += next.bytes;
      }
      if (taken.length === 0) continue;
      await this.sendChunks(taken);
    }
  }

  private async sendChunks(chunks: Chunk[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const c of chunks) {
      const list = byTopic.get(c.topic);
      if (list) list.push(...c.messages);
      else byTopic.set(c.topic, [...c.messages]);
    }
    try {
      const producer = await this.current();
      await producer.sendBatch({
        acks: -1,
        compression:
          this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (cause) {
      this.retire();
      const topics = [...byTopic.keys()].join(', ');
      const err = new ImgpipeError(
        'ERR_BUS_PRODUCE',
        `Kafka did not acknowledge ${chunks.reduce((n, c) => n + c.messages.length, 0)} message(s) to ${topics}: ${(cause as Error).message}`,
        { retriable: true, cause },
      );
      this.options.logger.error({ err, topics }, 'produce failed');
      for (const c of chunks) {
        c.call.failed = err;
        c.reject(err);
      }
      return;
    }
    for (const [topic, messages] of byTopic) {
      this.options.metrics.produced.inc({ topic }, messages.length);
    }
    for (const c of chunks) c.resolve();
  }

  private current(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.options.kafka.producer({
        idempotent: true,
        // Java's limit for idempotence: the broker remembers the last 5 batches per producer.
        maxInFlightRequests: 5,
        allowAutoTopicCreation: false,
        // Named explicitly (murmur2, what Java clients use, so keys land on the same partitions
        // from any client); also silences kafkajs' notice about its v2 default change.
        createPartitioner: Partitioners.DefaultPartitioner,
        // Bounded, so send() fails instead of hanging while Kafka is down (see retire()).
        retry: { retries: 5 },
      });
      try {
        await producer.connect();
      } catch (err) {
        this.connecting = undefined;
        throw new ImgpipeError(
          'ERR_BUS_CONNECT',
          `Cannot connect the Kafka producer: ${(err as Error).message}`,
          { retriable: true, cause: err },
        );
      }
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }

  /** Drops a producer whose sequence numbers may no longer match the broker's. */
  private retire(): void {
    const old = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    old?.disconnect().catch((err: unknown) => {
      this.options.logger.warn({ err }, 'disconnecting a retired producer failed');
    });
  }
}

/** Checks that an event's key is the field the catalogue says the topic is keyed by. */
function checkKey(topic: TopicSpec, event: OutgoingEvent): void {
  if (topic.key === 'original') return;
  const expected = (event.value as unknown as Record<string, unknown>)[topic.key];
  if (typeof expected === 'string' && expected !== event.key) {
    throw new ImgpipeError(
      'ERR_BUS_KEY',
      `${topic.name} is keyed by ${topic.key}: ${event.name} has ${topic.key} ${expected} but key ${JSON.stringify(event.key)}`,
      { details: { topic: topic.name, event: event.name, key: event.key, expected } },
    );
  }
}

/** The typed producer services use: Avro-encodes (schema header added) and sends. */
export function eventProducer(raw: BatchingProducer): EventProducer {
  return {
    send: async (topic, events) => {
      const messages = events.map((event): Message => {
        checkKey(topic, event);
        const encoded = encodeEvent(event.name, event.value);
        return {
          key: event.key,
          value: encoded.value,
          // The codec's schema headers win: a reader must resolve the writer's schema.
          headers: event.headers ? { ...event.headers, ...encoded.headers } : encoded.headers,
        };
      });
      await raw.send(topic.name, messages);
    },
  };
}
