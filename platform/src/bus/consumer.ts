import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import {
  decodeEvent,
  encodeEvent,
  type AnyEvent,
  type Envelope,
  type TopicSpec,
} from '@imgpipe/schemas';
import { ImgpipeError, errorCode } from '../errors';
import type { Logger } from '../logger';
import { CONSUMED_OUTCOMES, type BusMetrics, type ConsumedOutcome } from './bus-metrics';
import type { BatchingProducer } from './producer';
import { consumerOptionProblems, inPlaceBackoffMs, planOutcome } from './retry-plan';
import type { BusConsumer, ConsumerOptions, IncomingMessage, Outcome } from './types';

export interface ConsumerDeps {
  kafka: Kafka;
  logger: Logger;
  metrics: BusMetrics;
  producer: BatchingProducer;
}

/** Header on dead letters saying why the message got there (the Envelope has the reason text). */
export const DEAD_LETTER_CAUSE_HEADER = 'imgpipe-dead-letter-cause';
export type DeadLetterCause = 'poison' | 'fail' | 'exhausted';

/** Kafka headers → the flat string map events carry (first value wins for repeated keys). */
export function headerRecord(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) continue;
    out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

const describe = (err: unknown): string => {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${code}: ${message}` : message;
};

const isOutcome = (o: unknown): o is Outcome =>
  typeof o === 'object' &&
  o !== null &&
  'kind' in o &&
  (o.kind === 'done' || o.kind === 'retry' || o.kind === 'fail');

/** Least time between two commit/heartbeat checks in a batch (see eachBatch). */
const HOUSEKEEPING_MS = 100;

/** Longest single pause of a delay-tier partition before its head is looked at again. */
const MAX_PAUSE_MS = 60_000;

/** kafkajs error types meaning "this member must rejoin the group" (kafkajs isRebalancing + eviction). */
const GROUP_ERRORS = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/**
 * A message being handled: the IncomingMessage the handler gets, plus what the heartbeat ticker
 * and stop() need. One class (accessor on the prototype, AbortController made on first use of
 * `signal`) because per-message allocations are most of the bus's own cost per message.
 */
class Flight implements IncomingMessage {
  readonly event: AnyEvent;
  readonly key: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly attempt: number;
  /** performance.now() when the handler started or last called heartbeat(). */
  lastProgress: number;
  stalled: boolean;
  /** Why it was aborted (stop grace over, or stalled); undefined while not aborted. */
  abortReason: unknown;
  private controller: AbortController | undefined;
  private beat: (() => Promise<void>) | undefined;

  constructor(
    private readonly d: Delivery,
    private readonly ticker: BatchTicker,
    started: number,
  ) {
    this.event = d.event;
    this.key = d.key;
    this.topic = d.origin.topic;
    this.partition = d.origin.partition;
    this.offset = d.origin.offset;
    this.attempt = d.attempt;
    this.lastProgress = started;
    this.stalled = false;
    this.abortReason = undefined;
    this.controller = undefined;
    this.beat = undefined;
  }

  /** A function made on first use, so handlers may destructure it (`const { heartbeat } = m`). */
  get heartbeat(): () => Promise<void> {
    return (this.beat ??= () => {
      this.lastProgress = performance.now();
      return this.ticker.heartbeat();
    });
  }

  get headers(): Record<string, string> {
    return headersOf(this.d);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** A message as the bus tracks it from fetch to commit. */
interface Delivery {
  event: AnyEvent;
  key: string | null;
  /** Headers as read; flattened to strings only when someone needs them (see headersOf). */
  rawHeaders: IHeaders | undefined;
  headers?: Record<string, string>;
  /** The original value bytes (for delay tiers and dead letters). */
  value: Buffer;
  origin: { topic: string; partition: number; offset: string };
  attempt: number;
  firstAttemptAt: number;
  /** The topic this copy was read from (original or a delay tier): the metrics label. */
  readFrom: string;
}

const headersOf = (d: Pick<Delivery, 'rawHeaders' | 'headers'>): Record<string, string> =>
  (d.headers ??= headerRecord(d.rawHeaders));

/** What the batch loop does next: resolve and go on, pause here (redeliver later), or stop. */
type Step = 'next' | 'hold' | 'leave';

/** Counting semaphore bounding handlers in flight across partitions. */
class Slots {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  acquire(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Heartbeats for the group while a batch is being worked on. kafkajs only heartbeats between
 * messages (tulios/kafkajs#1083), so a handler longer than the session timeout would cost a
 * rebalance and a duplicate. The ticker keeps the member alive while the handler is still
 * considered live: until it has gone `stallTimeoutMs` without calling `heartbeat()`. Then it
 * stops (so a stuck process is still detected, the concern of tulios/kafkajs#447) and aborts the
 * handler's signal.
 */
class BatchTicker {
  current: Flight | undefined;
  /** A heartbeat saw a rebalance: take no new message from this batch. */
  rebalancing = false;
  /** Messages of this batch handled with `done` (counted once per batch: cheaper). */
  doneCount = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly payload: EachBatchPayload,
    intervalMs: number,
    private readonly stallTimeoutMs: number,
    private readonly onStall: (flight: Flight) => void,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  private tick(): void {
    const flight = this.current;
    if (
      flight &&
      !flight.stalled &&
      performance.now() - flight.lastProgress > this.stallTimeoutMs
    ) {
      flight.stalled = true;
      this.onStall(flight);
    }
    // Go on heartbeating after a rebalance was announced: the coordinator keeps the session of
    // a member that heartbeats while it finishes the message in hand (up to the rebalance
    // timeout) and evicts one that goes quiet, which would send the message to another member.
    if (flight?.stalled) return;
    void this.heartbeat();
  }

  /**
   * Never rejects. A group error (rebalance, new generation, evicted) is remembered for the
   * batch loop to act on; anything else (a network blip) is left to the next tick.
   */
  heartbeat(): Promise<void> {
    return this.payload.heartbeat().catch((err: unknown) => {
      const type = (err as { type?: unknown }).type;
      if (typeof type === 'string' && GROUP_ERRORS.has(type)) this.rebalancing = true;
    });
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/**
 * A group consumer over kafkajs `eachBatch` with manual offset resolution: an offset is
 * resolved only after its message is settled (handler done, or its retry / dead letter
 * acknowledged by Kafka), and only resolved offsets are committed, so a commit never passes
 * an unfinished message. Messages of one partition are handled in order; partitions in
 * parallel up to `partitionsConcurrently`, handlers in flight up to `maxInFlight`.
 */
export class KafkaBusConsumer implements BusConsumer {
  private readonly log: Logger;
  private readonly tiers = new Map<string, number>();
  /** Only when maxInFlight < partitionsConcurrently: otherwise one message per batch bounds it. */
  private readonly slots: Slots | undefined;
  /** Batches being worked on; each knows its message in flight (for stop's abort). */
  private readonly batches = new Set<BatchTicker>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** In-place redeliveries waiting, by topic|partition (consumers without a RetryPolicy). */
  private readonly holds = new Map<
    string,
    { offset: string; attempt: number; firstAttemptAt: number }
  >();
  private consumer: Consumer | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private draining = false;
  private joined = false;
  private crashed = false;

  private readonly sessionTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly stallTimeoutMs: number;
  private readonly stopGraceMs: number;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly deps: ConsumerDeps,
  ) {
    const problems = consumerOptionProblems(options);
    if (problems.length > 0) {
      throw new ImgpipeError(
        'ERR_BUS_CONFIG',
        `Invalid consumer options for group ${options.groupId}:\n  - ${problems.join('\n  - ')}`,
        { details: problems },
      );
    }
    this.log = deps.logger.child({ component: 'bus-consumer', groupId: options.groupId });
    options.retry?.tiers.forEach((t, i) => this.tiers.set(t.name, i));
    const concurrency = options.partitionsConcurrently ?? 1;
    const maxInFlight = options.maxInFlight ?? concurrency;
    this.slots = maxInFlight < concurrency ? new Slots(maxInFlight) : undefined;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 120_000;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
  }

  start(): Promise<void> {
    if (this.stopping) {
      return Promise.reject(new ImgpipeError('ERR_BUS_STOPPED', 'This consumer was stopped'));
    }
    this.starting ??= this.run();
    return this.starting;
  }

  isRunning(): boolean {
    return this.joined && !this.draining && !this.crashed;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async run(): Promise<void> {
    const o = this.options;
    const { metrics } = this.deps;
    if (o.retry || o.deadLetter) await this.deps.producer.connect();

    const consumer = this.deps.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: this.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? 60_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1_048_576,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 1_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;

    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joins++;
      if (joins > 1) metrics.rebalances.inc();
      this.joined = true;
      this.crashed = false;
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      metrics.lag.set(
        { topic: payload.topic, partition: String(payload.partition) },
        Number(payload.offsetLag),
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      if (!payload.restart) this.crashed = true;
    });

    // Series exist from the start (at 0), so dashboards and alerts see them before traffic.
    const readable = [...o.topics, ...(o.retry?.tiers ?? [])];
    for (const t of readable) {
      for (const outcome of CONSUMED_OUTCOMES) metrics.consumed.inc({ topic: t.name, outcome }, 0);
      metrics.handlerDuration.zero({ topic: t.name });
    }
    for (const t of o.topics) metrics.deadLetters.inc({ topic: t.name }, 0);

    await consumer.connect();
    await consumer.subscribe({
      topics: o.topics.map((t) => t.name),
      fromBeginning: o.fromBeginning ?? true,
    });
    // Waiting messages must never be skipped, whatever the main topics' start position.
    if (o.retry && o.retry.tiers.length > 0) {
      await consumer.subscribe({ topics: o.retry.tiers.map((t) => t.name), fromBeginning: true });
    }
    await consumer.run({
      // kafkajs commits only resolved offsets: after each batch, and every commitIntervalMs
      // when we call commitOffsetsIfNecessary between messages.
      autoCommit: true,
      autoCommitInterval: o.commitIntervalMs ?? 1_000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private async shutdown(): Promise<void> {
    this.draining = true;
    await this.starting?.catch(() => undefined);
    for (const t of this.resumeTimers) clearTimeout(t);
    this.resumeTimers.clear();
    const grace = setTimeout(() => {
      for (const batch of this.batches) {
        batch.current?.abort(
          new ImgpipeError('ERR_BUS_STOPPING', 'The consumer is stopping', { retriable: true }),
        );
      }
    }, this.stopGraceMs);
    try {
      // kafkajs stops fetching, waits for the running batches (ours stop after the message in
      // hand), commits what they resolved, leaves the group and disconnects.
      await this.consumer?.disconnect();
    } finally {
      clearTimeout(grace);
      this.joined = false;
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const tier = this.tiers.get(batch.topic);
    const ticker = new BatchTicker(
      payload,
      this.heartbeatIntervalMs,
      this.stallTimeoutMs,
      (flight) => {
        this.log.warn(
          { topic: batch.topic, partition: batch.partition, stallTimeoutMs: this.stallTimeoutMs },
          'handler stalled: no heartbeat() for too long; aborting its signal and no longer heartbeating for it',
        );
        flight.abort(
          new ImgpipeError('ERR_BUS_HANDLER_STALLED', 'Handler stalled', { retriable: true }),
        );
      },
    );
    this.batches.add(ticker);
    let nextHousekeeping = 0;
    // The last settled offset not yet handed to kafkajs. Messages of a partition are settled
    // in order, so resolving the last one resolves all before it; kafkajs' resolveOffset parses
    // offsets with Long each call, so it is called at housekeeping and on the way out only.
    let settled: string | undefined;
    try {
      for (const message of batch.messages) {
        if (this.draining || ticker.rebalancing || !payload.isRunning()) break;
        const step =
          tier === undefined
            ? await this.fromMain(payload, ticker, message)
            : await this.fromTier(payload, ticker, message);
        if (step !== 'next') break;
        settled = message.offset;
        // Commit and heartbeat are rate-limited inside kafkajs (commitIntervalMs,
        // heartbeatIntervalMs) but cost several promise hops per call: asking at most every
        // 100 ms keeps fast handlers fast.
        const now = Date.now();
        if (now >= nextHousekeeping) {
          nextHousekeeping = now + HOUSEKEEPING_MS;
          payload.resolveOffset(settled);
          settled = undefined;
          await payload.commitOffsetsIfNecessary();
          // Rethrows a rebalance to kafkajs, which commits what was resolved and rejoins.
          await payload.heartbeat();
          // A seek moved this partition (the bus never seeks; kept for safety): stop here.
          if (payload.isStale()) break;
        }
      }
    } finally {
      // Before kafkajs commits: after a normal end, and before a rebalance error reaches it.
      if (settled !== undefined) payload.resolveOffset(settled);
      ticker.close();
      this.batches.delete(ticker);
      if (ticker.doneCount > 0) {
        this.deps.metrics.consumed.inc({ topic: batch.topic, outcome: 'done' }, ticker.doneCount);
      }
    }
  }

  // Not async: this is the per-message hot path, and an extra async frame per message shows.
  private fromMain(
    payload: EachBatchPayload,
    ticker: BatchTicker,
    message: KafkaMessage,
  ): Promise<Step> {
    const { topic, partition } = payload.batch;
    const key = message.key ? message.key.toString('utf8') : null;
    const value = message.value ?? Buffer.alloc(0);
    const origin = { topic, partition, offset: message.offset };
    let held: { attempt: number; firstAttemptAt: number } | undefined;
    if (this.holds.size > 0) {
      const holdKey = `${topic}|${partition}`;
      const hold = this.holds.get(holdKey);
      if (hold?.offset === message.offset) held = hold;
      if (hold) this.holds.delete(holdKey);
    }

    let event: AnyEvent;
    try {
      event = decodeEvent(message.value, message.headers);
    } catch (err) {
      return this.poison(payload, {
        origin,
        key,
        value,
        headers: headerRecord(message.headers),
        readFrom: topic,
        reason: `undecodable: ${describe(err)}`,
      });
    }
    return this.handle(payload, ticker, {
      event,
      key,
      rawHeaders: message.headers,
      value,
      origin,
      attempt: held?.attempt ?? 1,
      firstAttemptAt: held?.firstAttemptAt ?? Date.now(),
      readFrom: topic,
    });
  }

  private async fromTier(
    payload: EachBatchPayload,
    ticker: BatchTicker,
    message: KafkaMessage,
  ): Promise<Step> {
    const { topic, partition } = payload.batch;
    const raw = message.value ?? Buffer.alloc(0);
    const rawHeaders = headerRecord(message.headers);
    let envelope: Envelope;
    try {
      const decoded = decodeEvent(raw, rawHeaders);
      if (decoded.name !== 'Envelope') {
        throw new ImgpipeError(
          'ERR_DECODE_NOT_ENVELOPE',
          `expected an Envelope, got ${decoded.name}`,
        );
      }
      envelope = decoded.value;
    } catch (err) {
      return this.poison(payload, {
        origin: { topic, partition, offset: message.offset },
        key: message.key ? message.key.toString('utf8') : null,
        value: raw,
        headers: rawHeaders,
        readFrom: topic,
        reason: `undecodable: ${describe(err)}`,
      });
    }

    const wait = envelope.dueAt - Date.now();
    if (wait > 0) {
      // The head of a delay tier is not due yet: pause this partition until it is (no fetch,
      // no busy loop, nothing held inside a handler); the unresolved head is fetched again
      // on resume. Tiers are FIFO with one delay, so nothing behind it is due earlier
      // (except after a longer `afterMs`, which only delays the messages behind it).
      // Capped: a far-off dueAt (clock skew between hosts) is re-read every minute rather than
      // trusted for hours, and setTimeout misfires at once beyond 2^31 ms.
      this.pauseFor(payload, Math.min(wait, MAX_PAUSE_MS));
      return 'hold';
    }

    const origin = {
      topic: envelope.originalTopic,
      partition: envelope.originalPartition,
      offset: envelope.originalOffset,
    };
    let event: AnyEvent;
    try {
      event = decodeEvent(envelope.payload, envelope.headers);
    } catch (err) {
      return this.poison(payload, {
        origin,
        key: envelope.key,
        value: envelope.payload,
        headers: envelope.headers,
        readFrom: topic,
        reason: `undecodable: ${describe(err)}`,
        attempt: envelope.attempt,
        firstAttemptAt: envelope.firstAttemptAt,
      });
    }
    return this.handle(payload, ticker, {
      event,
      key: envelope.key,
      rawHeaders: undefined,
      headers: envelope.headers,
      value: envelope.payload,
      origin,
      attempt: envelope.attempt + 1,
      firstAttemptAt: envelope.firstAttemptAt,
      readFrom: topic,
    });
  }

  private async handle(payload: EachBatchPayload, ticker: BatchTicker, d: Delivery): Promise<Step> {
    const { metrics } = this.deps;
    const wait = this.slots?.acquire();
    if (wait) await wait;
    const started = performance.now();
    const flight = new Flight(d, ticker, started);
    const message: IncomingMessage = flight;
    ticker.current = flight;
    let outcome: Outcome;
    let threw = false;
    try {
      const returned: unknown = await this.options.handler(message);
      if (isOutcome(returned)) outcome = returned;
      else {
        threw = true;
        outcome = { kind: 'retry', reason: 'handler returned no outcome' };
      }
    } catch (err) {
      threw = true;
      outcome = { kind: 'retry', reason: describe(err) };
      if (flight.abortReason === undefined) {
        this.messageLog(d).warn({ err, attempt: d.attempt }, 'handler threw; retrying');
      }
    } finally {
      metrics.handlerDuration.observe({ topic: d.readFrom }, (performance.now() - started) / 1000);
      ticker.current = undefined;
      this.slots?.release();
    }

    if (outcome.kind === 'done') {
      ticker.doneCount++;
      return 'next';
    }
    // Abandoned because we are stopping: not committed, the next owner redelivers it.
    if (this.draining && flight.abortReason !== undefined) return 'leave';
    return this.settle(payload, d, message, outcome, threw);
  }

  private async settle(
    payload: EachBatchPayload,
    d: Delivery,
    message: IncomingMessage,
    outcome: Outcome,
    threw: boolean,
  ): Promise<Step> {
    const policy = this.options.retry;
    const plan = planOutcome(outcome, d.attempt, policy, Date.now());
    const count = (o: ConsumedOutcome) =>
      this.deps.metrics.consumed.inc({ topic: d.readFrom, outcome: o });
    const reason = outcome.kind === 'done' ? '' : outcome.reason;
    try {
      switch (plan.action) {
        case 'commit':
          count('done');
          return 'next';
        case 'delay': {
          const tier = policy!.tiers[plan.tier]!;
          await this.publishEnvelope(tier, d, {
            attempt: plan.attempt,
            dueAt: plan.dueAt,
            reason,
          });
          count(threw ? 'error' : 'retry');
          return 'next';
        }
        case 'hold':
          count(threw ? 'error' : 'retry');
          this.holdInPlace(payload, d, plan.attempt, plan.delayMs);
          return 'hold';
        case 'exhaust': {
          if (policy?.onExhausted) await policy.onExhausted(message, reason, plan.as);
          const cause: DeadLetterCause = plan.as === 'fail' ? 'fail' : 'exhausted';
          await this.deadLetter(d, reason, cause, d.attempt);
          count(cause);
          return 'next';
        }
      }
    } catch (err) {
      // Kafka refused the retry or dead letter, or onExhausted threw: nothing is committed;
      // the message is redelivered in place (same attempt) after a backoff.
      const delayMs = inPlaceBackoffMs(d.attempt);
      this.messageLog(d).error(
        { err, attempt: d.attempt, delayMs },
        'could not settle the message; redelivering it',
      );
      this.holdInPlace(payload, d, d.attempt, delayMs);
      return 'hold';
    }
  }

  private async poison(
    payload: EachBatchPayload,
    p: {
      origin: Delivery['origin'];
      key: string | null;
      value: Buffer;
      headers: Record<string, string>;
      readFrom: string;
      reason: string;
      attempt?: number;
      firstAttemptAt?: number;
    },
  ): Promise<Step> {
    const log = this.deps.logger.child({ component: 'bus-consumer', ...p.origin });
    log.error({ reason: p.reason, readFrom: p.readFrom }, 'poison message: dead-lettering it');
    const d = {
      origin: p.origin,
      key: p.key,
      value: p.value,
      rawHeaders: undefined,
      headers: p.headers,
      firstAttemptAt: p.firstAttemptAt ?? Date.now(),
    };
    try {
      await this.deadLetter(d, p.reason, 'poison', p.attempt ?? 0);
    } catch (err) {
      const delayMs = inPlaceBackoffMs(1);
      log.error({ err, delayMs }, 'could not dead-letter the poison message; retrying');
      this.pauseFor(payload, delayMs);
      return 'hold';
    }
    this.deps.metrics.consumed.inc({ topic: p.readFrom, outcome: 'poison' });
    return 'next';
  }

  private publishEnvelope(
    tier: TopicSpec,
    d: Pick<Delivery, 'origin' | 'key' | 'value' | 'rawHeaders' | 'headers' | 'firstAttemptAt'>,
    e: { attempt: number; dueAt: number; reason: string },
    extraHeaders: Record<string, string> = {},
  ): Promise<void> {
    const envelope: Envelope = {
      originalTopic: d.origin.topic,
      originalPartition: d.origin.partition,
      originalOffset: d.origin.offset,
      key: d.key,
      payload: d.value,
      headers: headersOf(d),
      attempt: e.attempt,
      firstAttemptAt: d.firstAttemptAt,
      dueAt: e.dueAt,
      reason: e.reason,
      failureCode: null,
    };
    const encoded = encodeEvent('Envelope', envelope);
    return this.deps.producer.send(tier.name, [
      { key: d.key, value: encoded.value, headers: { ...extraHeaders, ...encoded.headers } },
    ]);
  }

  private async deadLetter(
    d: Pick<Delivery, 'origin' | 'key' | 'value' | 'rawHeaders' | 'headers' | 'firstAttemptAt'>,
    reason: string,
    cause: DeadLetterCause,
    attempts: number,
  ): Promise<void> {
    const topic = this.options.retry?.deadLetter ?? this.options.deadLetter;
    if (!topic) {
      this.deps.logger
        .child({ component: 'bus-consumer', ...d.origin })
        .error({ reason, cause }, 'no dead-letter topic configured: message dropped after logging');
      return;
    }
    await this.publishEnvelope(
      topic,
      d,
      { attempt: attempts, dueAt: Date.now(), reason },
      { [DEAD_LETTER_CAUSE_HEADER]: cause },
    );
    this.deps.metrics.deadLetters.inc({ topic: d.origin.topic });
  }

  /** Redeliver this message later without committing it: remember the attempt, pause. */
  private holdInPlace(
    payload: EachBatchPayload,
    d: Delivery,
    attempt: number,
    delayMs: number,
  ): void {
    if (!this.tiers.has(d.readFrom)) {
      // A copy read from a delay tier carries its attempt in the Envelope; a main-topic
      // message's attempt is remembered here until it comes back.
      this.holds.set(`${payload.batch.topic}|${payload.batch.partition}`, {
        offset: d.origin.offset,
        attempt,
        firstAttemptAt: d.firstAttemptAt,
      });
    }
    this.pauseFor(payload, delayMs);
  }

  private pauseFor(payload: EachBatchPayload, delayMs: number): void {
    const resume = payload.pause();
    const timer = setTimeout(
      () => {
        this.resumeTimers.delete(timer);
        resume();
      },
      Math.min(delayMs, 2 ** 31 - 1), // setTimeout fires at once beyond that
    );
    this.resumeTimers.add(timer);
  }

  private messageLog(d: Delivery): Logger {
    const value = d.event.value as unknown as Record<string, unknown>;
    return this.deps.logger.child({
      component: 'bus-consumer',
      topic: d.origin.topic,
      partition: d.origin.partition,
      offset: d.origin.offset,
      ...(typeof value.requestId === 'string' ? { requestId: value.requestId } : {}),
    });
  }
}
