/**
 * The Kafka bus contract every service codes against. platform is the only kafkajs importer;
 * services see topics from the catalogue (`Topics` in @imgpipe/schemas), typed events and
 * handler outcomes — never kafkajs types.
 */
import type { AnyEvent, EventMap, EventName, TopicSpec } from '@imgpipe/schemas';

/** One message to publish: a typed event and its key (the catalogue says which key per topic). */
export interface OutgoingEvent<K extends EventName = EventName> {
  name: K;
  value: EventMap[K];
  key: string;
  /** Extra string headers (the schema header is added by the codec). */
  headers?: Record<string, string>;
}

export interface EventProducer {
  /**
   * Encodes and sends; resolves only when the broker acknowledged every message (acks=-1).
   * Messages keep their order per key. Large arrays are sent in batches.
   */
  send(topic: TopicSpec, events: readonly OutgoingEvent[]): Promise<void>;
}

/**
 * What a handler decided. Throwing (or returning anything else) means a fault: the bus handles
 * it like `retry` with the error's `code: message` as the reason.
 */
export type Outcome =
  | { readonly kind: 'done' }
  /**
   * Transient: redeliver with attempt + 1, after the next delay tier's delay or `afterMs`,
   * whichever is longer. Without a RetryPolicy: redelivered in place (the partition waits, so
   * its order is kept) after `afterMs`, else 1 s, 2 s, 4 s … 30 s, with no attempt limit.
   */
  | { readonly kind: 'retry'; readonly afterMs?: number; readonly reason: string }
  /** Permanent: no more attempts; goes to the dead-letter topic with the reason. */
  | { readonly kind: 'fail'; readonly reason: string };

export const done = (): Outcome => ({ kind: 'done' });
export const retry = (reason: string, afterMs?: number): Outcome =>
  afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs };
export const fail = (reason: string): Outcome => ({ kind: 'fail', reason });

export interface IncomingMessage {
  /** The decoded event (a decode failure never reaches the handler: it is dead-lettered). */
  event: AnyEvent;
  key: string | null;
  /** Topic the message was originally published to (not the delay topic). */
  topic: string;
  partition: number;
  offset: string;
  /** 1 on first delivery, +1 per redelivery after `retry`/throw (delay tier or in place). */
  attempt: number;
  headers: Record<string, string>;
  /**
   * Call between long stages: it tells the bus the handler is making progress (see
   * `stallTimeoutMs`) and heartbeats. Never rejects.
   */
  heartbeat(): Promise<void>;
  /**
   * Aborted when the consumer is stopping and the grace period is over (the handler may abandon
   * its work: unless it still returns `done`, the message is not committed and is redelivered),
   * or when the handler stalled past `stallTimeoutMs` (whatever it then returns or throws is
   * handled as usual).
   */
  signal: AbortSignal;
}

export type Handler = (message: IncomingMessage) => Promise<Outcome>;

/**
 * Delay-tier retries. A message gets at most `tiers.length + 1` attempts: `retry` (or a throw)
 * on attempt n ≤ tiers.length republishes it (an Envelope: original bytes, headers, key,
 * position, attempt, dueAt, reason) to `tiers[n-1]` and commits it; that tier's partition is
 * paused until the head is due, then the handler gets it again with attempt n+1 and the
 * ORIGINAL topic/partition/offset. On the last attempt `retry` exhausts it: `onExhausted`,
 * then the dead-letter topic. Redelivery is never early; it may be up to ~maxWaitTimeMs late.
 */
export interface RetryPolicy {
  /** Delay before attempt n+1, for n = 1..delaysMs.length (one delay tier topic each). */
  delaysMs: readonly number[];
  /** The delay tier topics, same length as delaysMs (e.g. Topics.imagesRetry). */
  tiers: readonly TopicSpec[];
  /** Where exhausted, failed and undecodable messages go (e.g. Topics.imagesDlq). */
  deadLetter: TopicSpec;
  /**
   * Called once when a message has no attempts left (retry on the last attempt, or `fail`),
   * before it is dead-lettered: the service records the final failure (e.g. the processor
   * publishes ImageFailed RETRIES_EXHAUSTED). If it throws, or the dead letter cannot be
   * written, nothing is committed and the message is redelivered in place (same attempt) after
   * a backoff, so it can run again: make it idempotent.
   */
  onExhausted?: (
    message: IncomingMessage,
    reason: string,
    outcome: 'retry' | 'fail',
  ) => Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: readonly TopicSpec[];
  handler: Handler;
  retry?: RetryPolicy;
  /** Partitions handled concurrently (default 1). */
  partitionsConcurrently?: number;
  /** Upper bound on messages being handled at once across partitions (default = partitionsConcurrently). */
  maxInFlight?: number;
  /** Group session timeout (default 30 000): how long a silent member stays in the group. */
  sessionTimeoutMs?: number;
  /** Heartbeat period (default 3 000; must be below sessionTimeoutMs, ideally a third of it). */
  heartbeatIntervalMs?: number;
  /** Where to start when the group has no committed offset (default true = earliest). */
  fromBeginning?: boolean;
  /**
   * Dead-letter topic for a consumer WITHOUT a RetryPolicy: undecodable messages and `fail`
   * outcomes go there (with a RetryPolicy, `retry.deadLetter` is used). Without either, such
   * messages are logged at error level and committed, never left blocking the partition.
   */
  deadLetter?: TopicSpec;
  /**
   * The bus heartbeats for the group while a handler runs, so one slow message does not cost a
   * rebalance. It stops doing so, and aborts the message's `signal`, once the handler has gone
   * this long without calling `heartbeat()` (it is presumed stuck; default 120 000 ms).
   */
  stallTimeoutMs?: number;
  /** How long stop() lets in-flight handlers run before aborting their `signal` (default 10 000). */
  stopGraceMs?: number;
  /** Time a member may take to rejoin during a rebalance (default 60 000). */
  rebalanceTimeoutMs?: number;
  /** Finished offsets are committed at this period during a batch and at every batch end (default 1 000). */
  commitIntervalMs?: number;
  /** Longest fetch wait; also bounds how late a resumed delay partition is noticed (default 1 000). */
  maxWaitTimeMs?: number;
  /** Bytes fetched per partition per request: bounds the memory of buffered messages (default 1 MiB). */
  maxBytesPerPartition?: number;
}

export interface BusConsumer {
  start(): Promise<void>;
  /** Stops fetching, lets in-flight handlers finish, commits, disconnects. Idempotent. */
  stop(): Promise<void>;
  /** True once joined and consuming (for /readyz). */
  isRunning(): boolean;
}

export interface Bus {
  producer(): Promise<EventProducer>;
  consumer(options: ConsumerOptions): BusConsumer;
  /** Flushes and disconnects every producer and consumer it made. Idempotent. */
  close(): Promise<void>;
}
