/**
 * Dead-letter inspection and replay (docs/operations.md, "Replaying a dead letter").
 *
 * What the bus writes (platform/src/bus/consumer.ts): a dead letter is an Avro `Envelope` on the
 * consumer's `.dlq` topic, keyed like the original, carrying the original topic, partition,
 * offset, key, headers and the undecoded value, plus the header `imgpipe-dead-letter-cause`
 * (poison | fail | exhausted). Replaying one publishes the original key, value and headers to
 * the original topic again, so the consumers see the very message they gave up on.
 *
 * Why this is safe to repeat: every consumer is idempotent on natural keys (the aggregator keeps
 * the first final result per image position, the processor overwrites its deterministic output
 * key, the notifier deduplicates on the completion id), so replaying a message twice changes
 * nothing the first replay did not. The tool still remembers what it replayed, in its own
 * consumer group's committed offsets, so a second run replays only what is new.
 */
import { Partitioners, type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';
import { DEAD_LETTER_CAUSE_HEADER, headerRecord, ImgpipeError } from '@imgpipe/platform';
import {
  decodeEvent,
  SCHEMA_HEADER,
  topicCatalogue,
  type Envelope,
  type TopicSpec,
} from '@imgpipe/schemas';

/** Added to every replayed message: where it came from, so a replay that fails again says so. */
export const REPLAYED_FROM_HEADER = 'imgpipe-replayed-from';

/** The dead-letter queues, by the short name operators type (`--dlq images`). */
export const DLQ_NAMES = ['images', 'notifications', 'requests.events'] as const;
export type DlqName = (typeof DLQ_NAMES)[number];

export interface DeadLetterQueue {
  readonly name: DlqName;
  readonly topic: TopicSpec;
  /**
   * Where its dead letters may be replayed to: the topics its consumer group reads (a poison
   * message from a delay tier names the tier). Anything else means a foreign or mis-prefixed
   * message, which the tool refuses instead of publishing somewhere unexpected.
   */
  readonly destinations: readonly TopicSpec[];
  /** Who reads the destination topics, for the operator's benefit. */
  readonly consumer: string;
}

/** The three DLQs of a deployment, with KAFKA_TOPIC_PREFIX applied like the services do. */
export function deadLetterQueues(prefix: string): readonly DeadLetterQueue[] {
  const t = topicCatalogue(prefix);
  return [
    {
      name: 'images',
      topic: t.imagesDlq,
      destinations: [t.imagesRequested, ...t.imagesRetry],
      consumer: 'processor',
    },
    {
      name: 'notifications',
      topic: t.notificationsDlq,
      destinations: [t.requestsCompleted, ...t.notificationsRetry],
      consumer: 'notifier',
    },
    {
      name: 'requests.events',
      topic: t.requestEventsDlq,
      destinations: [t.requestEvents],
      consumer: 'aggregator',
    },
  ];
}

/** One message on a DLQ, as listed and replayed. */
export interface DeadLetter {
  readonly dlq: DlqName;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** When it was dead-lettered (the DLQ message's timestamp), epoch ms. */
  readonly deadLetteredAt: number;
  /** poison | fail | exhausted, from the dead-letter header; null if absent. */
  readonly cause: string | null;
  /** The decoded envelope; null when the dead letter itself cannot be decoded. */
  readonly envelope: Envelope | null;
  /** Why the envelope could not be decoded (only when `envelope` is null). */
  readonly problem: string | null;
  /** Below the replay group's committed offset: an earlier run replayed (or passed) it. */
  readonly replayed: boolean;
}

/** The event the original payload claims to be (from its schema header), e.g. ImageRequested. */
export function eventNameOf(envelope: Envelope): string {
  const id = envelope.headers[SCHEMA_HEADER];
  if (id === undefined) return '(no schema header)';
  const at = id.indexOf('@');
  const name = at >= 0 ? id.slice(0, at) : id;
  return name.slice(name.lastIndexOf('.') + 1);
}

export interface ListOptions {
  queues: readonly DeadLetterQueue[];
}

export interface ReplayOptions {
  queues: readonly DeadLetterQueue[];
  /** Dead letters older than this (epoch ms) are passed over, not replayed. */
  since?: number;
  /** Replay at most this many (the rest stay for the next run). */
  limit?: number;
  /** Show what would be replayed; publish and remember nothing. */
  dryRun?: boolean;
  /** Called after each replay (or would-be replay in a dry run), for progress output. */
  onReplay?: (letter: DeadLetter, destination: string) => void;
}

export interface ReplayReport {
  readonly dryRun: boolean;
  /** Replayed (or, in a dry run, would be), in order. */
  readonly replayed: readonly { letter: DeadLetter; destination: string }[];
  /** Older than `since`: not replayed, and not offered again by later runs. */
  readonly passedOver: number;
  /** Dead letters that cannot be decoded: nothing to replay them from. */
  readonly undecodable: readonly DeadLetter[];
}

export interface DeadLetterToolDeps {
  kafka: Kafka;
  /** The consumer group whose committed offsets remember what was replayed. */
  groupId: string;
  /** No message for this long while some are still expected: stop with an error (default 30 s). */
  idleTimeoutMs?: number;
  now?: () => number;
}

export interface DeadLetterTool {
  list(options: ListOptions): Promise<DeadLetter[]>;
  replay(options: ReplayOptions): Promise<ReplayReport>;
}

/** Where one partition is read from and up to where (the end offset is exclusive). */
interface Range {
  readonly topic: string;
  readonly partition: number;
  next: bigint;
  readonly end: bigint;
  /** The replay group's committed offset, -1 when it has none. */
  readonly committed: bigint;
}

type Step = 'next' | 'stop';

/** Creates the tool over a Kafka client (platform's createKafka). */
export function createDeadLetterTool(deps: DeadLetterToolDeps): DeadLetterTool {
  const { kafka, groupId } = deps;
  const now = deps.now ?? (() => Date.now());
  const idleTimeoutMs = deps.idleTimeoutMs ?? 30_000;

  /**
   * The partitions of the DLQs with what is on them right now (low..high) and how far the replay
   * group got. The high watermark is taken once, so a run ends even while new dead letters come.
   */
  async function ranges(queues: readonly DeadLetterQueue[]): Promise<Range[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = queues.filter((q) => !existing.has(q.topic.name)).map((q) => q.topic.name);
      if (missing.length > 0) {
        throw new ImgpipeError(
          'ERR_DLQ_TOPIC_MISSING',
          `No such topic: ${missing.join(', ')}. Check KAFKA_BROKERS and KAFKA_TOPIC_PREFIX (the services' values).`,
        );
      }
      const topics = queues.map((q) => q.topic.name);
      const committed = new Map<string, bigint>();
      for (const t of await admin.fetchOffsets({ groupId, topics })) {
        for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
      }
      const out: Range[] = [];
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          out.push({
            topic,
            partition: p.partition,
            next: BigInt(p.low),
            end: BigInt(p.high),
            committed: committed.get(`${topic}/${p.partition}`) ?? -1n,
          });
        }
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Reads every range from its `next` offset up to its end, one message at a time, in offset
   * order per partition. With `commit`, the group must be the replay group: it starts where
   * that group stopped and each handled message is committed before the next one is read, so a
   * run that dies half-way replays at most the message in hand again. Without, a throwaway group
   * reads from the start and commits nothing.
   */
  async function read(
    group: string,
    todo: readonly Range[],
    commit: boolean,
    onMessage: (range: Range, message: KafkaMessage) => Promise<Step>,
  ): Promise<void> {
    const byKey = new Map(todo.map((r) => [`${r.topic}/${r.partition}`, r]));
    const pending = new Set([...byKey].filter(([, r]) => r.next < r.end).map(([k]) => k));
    if (pending.size === 0) return;
    const consumer: Consumer = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    let settle!: { resolve: () => void; reject: (err: unknown) => void };
    const finished = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let stopping = false;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        stopping = true;
        const where = [...pending].map((k) => `${k} up to offset ${String(byKey.get(k)!.end)}`);
        settle.reject(
          new ImgpipeError(
            'ERR_DLQ_STALLED',
            `No dead letter arrived for ${idleTimeoutMs / 1000} s while still expecting ${where.join(', ')} (deleted by retention meanwhile?). Run again.`,
          ),
        );
      }, idleTimeoutMs);
    };
    consumer.on(consumer.events.GROUP_JOIN, armIdle);
    await consumer.connect();
    try {
      await consumer.subscribe({
        topics: [...new Set(todo.map((r) => r.topic))],
        fromBeginning: true,
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const key = `${batch.topic}/${batch.partition}`;
          const range = byKey.get(key);
          for (const message of batch.messages) {
            if (stopping || !payload.isRunning() || payload.isStale()) return;
            armIdle();
            const offset = BigInt(message.offset);
            if (!range || offset >= range.end) {
              pending.delete(key);
              break;
            }
            let step: Step;
            try {
              step = await onMessage(range, message);
            } catch (err) {
              stopping = true;
              settle.reject(err);
              return;
            }
            payload.resolveOffset(message.offset);
            range.next = offset + 1n;
            if (commit) {
              await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: String(range.next) },
              ]);
            }
            await payload.heartbeat();
            if (range.next >= range.end) pending.delete(key);
            if (step === 'stop') stopping = true;
            if (stopping) break;
          }
          if (stopping || pending.size === 0) settle.resolve();
        },
      });
      await finished;
    } finally {
      clearTimeout(idle);
      await consumer.disconnect();
    }
  }

  /** Decodes one DLQ message into what the operator sees. */
  function letterOf(queue: DeadLetterQueue, range: Range, message: KafkaMessage): DeadLetter {
    const headers = headerRecord(message.headers);
    let envelope: Envelope | null = null;
    let problem: string | null = null;
    try {
      const decoded = decodeEvent(message.value, message.headers);
      if (decoded.name === 'Envelope') envelope = decoded.value;
      else problem = `a ${decoded.name} event, not an Envelope`;
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    return {
      dlq: queue.name,
      topic: range.topic,
      partition: range.partition,
      offset: message.offset,
      deadLetteredAt: Number(message.timestamp),
      cause: headers[DEAD_LETTER_CAUSE_HEADER] ?? null,
      envelope,
      problem,
      replayed: BigInt(message.offset) < range.committed,
    };
  }

  const queueOf = (queues: readonly DeadLetterQueue[], topic: string): DeadLetterQueue =>
    queues.find((q) => q.topic.name === topic)!;

  /** A throwaway group for reads that must not move the replay group. */
  async function withScratchGroup(fn: (group: string) => Promise<void>): Promise<void> {
    const group = `${groupId}-read-${now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      await fn(group);
    } finally {
      const admin = kafka.admin();
      await admin.connect();
      // It never committed anything; deleting it just keeps `kafka-consumer-groups --list` clean.
      await admin.deleteGroups([group]).catch(() => undefined);
      await admin.disconnect();
    }
  }

  return {
    async list({ queues }) {
      const todo = await ranges(queues);
      const letters: DeadLetter[] = [];
      await withScratchGroup((group) =>
        read(group, todo, false, (range, message) => {
          letters.push(letterOf(queueOf(queues, range.topic), range, message));
          return Promise.resolve('next');
        }),
      );
      return letters.sort(
        (a, b) =>
          queues.findIndex((q) => q.name === a.dlq) - queues.findIndex((q) => q.name === b.dlq) ||
          a.partition - b.partition ||
          Number(BigInt(a.offset) - BigInt(b.offset)),
      );
    },

    async replay(options) {
      const { queues } = options;
      const dryRun = options.dryRun === true;
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      const todo = await ranges(queues);
      const replayed: { letter: DeadLetter; destination: string }[] = [];
      const undecodable: DeadLetter[] = [];
      let passedOver = 0;

      if (!dryRun) {
        // Two runs at once would split the partitions between them and each would wait for the
        // other's share: refuse instead.
        const admin = kafka.admin();
        await admin.connect();
        try {
          const { groups } = await admin.describeGroups([groupId]);
          const members = groups[0]?.members.length ?? 0;
          if (members > 0) {
            throw new ImgpipeError(
              'ERR_DLQ_BUSY',
              `Another replay is running (consumer group ${groupId} has ${members} member(s)); wait for it to finish`,
            );
          }
        } finally {
          await admin.disconnect();
        }
      }
      for (const r of todo) {
        // The replay group resumes where it stopped, so the ranges start there too; a dry run
        // reads with a scratch group from the start, and skips partitions with nothing new.
        if (!dryRun && r.committed > r.next) r.next = r.committed;
        if (dryRun && r.committed >= r.end) r.next = r.end;
      }

      const producer = dryRun
        ? undefined
        : kafka.producer({
            idempotent: true,
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
            // The partitioner every imgpipe producer uses (murmur2, as Java clients): the same
            // key lands on the partition its live messages use, so per-request order holds.
            createPartitioner: Partitioners.DefaultPartitioner,
          });
      await producer?.connect();
      try {
        const handle = async (range: Range, message: KafkaMessage): Promise<Step> => {
          const queue = queueOf(queues, range.topic);
          const letter = letterOf(queue, range, message);
          // A dry run reads from the start with a scratch group: what the replay group already
          // did is not offered again.
          if (letter.replayed) return 'next';
          if (options.since !== undefined && letter.deadLetteredAt < options.since) {
            passedOver += 1;
            return 'next';
          }
          const envelope = letter.envelope;
          if (!envelope) {
            undecodable.push(letter);
            return 'next';
          }
          const destination = queue.destinations.find((t) => t.name === envelope.originalTopic);
          if (!destination) {
            throw new ImgpipeError(
              'ERR_DLQ_DESTINATION',
              `${letter.topic}/${letter.partition} offset ${letter.offset} was dead-lettered from ${JSON.stringify(envelope.originalTopic)}, which is not a topic the ${queue.consumer} reads here (${queue.destinations.map((t) => t.name).join(', ')}). Is KAFKA_TOPIC_PREFIX the services' value? Nothing after it was replayed.`,
            );
          }
          if (producer) {
            await producer.send({
              topic: destination.name,
              acks: -1,
              messages: [
                {
                  key: envelope.key,
                  value: envelope.payload,
                  headers: {
                    ...envelope.headers,
                    [REPLAYED_FROM_HEADER]: `${letter.topic}/${letter.partition}/${letter.offset}`,
                  },
                },
              ],
            });
          }
          replayed.push({ letter, destination: destination.name });
          options.onReplay?.(letter, destination.name);
          return replayed.length >= limit ? 'stop' : 'next';
        };
        if (dryRun) await withScratchGroup((group) => read(group, todo, false, handle));
        else await read(groupId, todo, true, handle);
      } finally {
        await producer?.disconnect();
      }
      return { dryRun, replayed, passedOver, undecodable };
    },
  };
}
