/**
 * The dead-letter replay tool (deploy/ops/dlq-replay.ts) against the real Kafka, run as the
 * operator runs it (its own process, the services' env, a private KAFKA_TOPIC_PREFIX): dead
 * letters written by the real bus are listed with their reason, original topic and key, and
 * replayed to the original topic byte for byte (key, value, headers); a second run replays
 * nothing, and a dead letter from a foreign topic is refused with a clear error.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import {
  createBus,
  createKafka,
  createRegistry,
  DEAD_LETTER_CAUSE_HEADER,
  ensureTopics,
  fail,
  headerRecord,
  silentLogger,
  type Bus,
} from '@imgpipe/platform';
import { encodeEvent, fixture, topicCatalogue, type Envelope } from '@imgpipe/schemas';
import {
  highWatermarks,
  readTopic,
  type RawRecord,
} from '../../platform/test/fixtures/bus-support';
import { REPLAYED_FROM_HEADER } from '../../deploy/ops/lib/dead-letters';
import { testEnv, uniqueName, waitFor } from '../support/env';

const repoDir = path.resolve(__dirname, '..', '..');
const env = testEnv();
const kafka = createKafka(env.kafka, silentLogger());
const prefix = `${uniqueName('dlqreplay')}.`;
const topics = topicCatalogue(prefix);
const groupId = uniqueName('dlq-replay');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The tool as an operator runs it: a process with the services' Kafka env. */
function dlqReplay(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'deploy/ops/dlq-replay.ts', ...args],
      {
        cwd: repoDir,
        env: {
          ...process.env,
          KAFKA_BROKERS: env.kafka.KAFKA_BROKERS.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          DLQ_REPLAY_GROUP_ID: groupId,
          LOG_LEVEL: '',
        },
        timeout: 90_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const json = <T>(run: Run): T => {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
};

interface ListedLetter {
  dlq: string;
  offset: string;
  cause: string;
  state: 'pending' | 'replayed';
  original: { topic: string; partition: number; offset: string } | null;
  key: string | null;
  event: string | null;
  reason: string | null;
  headers: Record<string, string> | null;
}

interface ReplayOutput {
  dryRun: boolean;
  replayed: (ListedLetter & { destination: string })[];
  passedOver: number;
}

const valueOf = (r: RawRecord) => r.message.value ?? Buffer.alloc(0);
const keyOf = (r: RawRecord) => r.message.key?.toString('utf8') ?? null;

describe('npm run dlq:replay', () => {
  let bus: Bus;
  let producer: Producer;
  /** What the bus dead-lettered, as it was on images.requested. */
  let originals: RawRecord[];
  const image = fixture('ImageRequested', {
    eventId: randomUUID(),
    requestId: randomUUID(),
    imageId: randomUUID(),
  });
  const imageEvent = encodeEvent('ImageRequested', image);
  const poison = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);

  beforeAll(async () => {
    await ensureTopics(
      kafka,
      [
        topics.imagesRequested,
        topics.imagesDlq,
        topics.requestsCompleted,
        topics.notificationsDlq,
        topics.requestEvents,
        topics.requestEventsDlq,
      ].map((t) => ({ ...t, partitions: Math.min(t.partitions, 3) })),
    );

    // Two messages the processor's consumer would give up on: an event its handler fails for
    // good, and bytes no reader can decode (with a header the replay must carry back).
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: topics.imagesRequested.name,
      acks: -1,
      messages: [
        {
          key: image.imageId,
          value: imageEvent.value,
          headers: {
            ...imageEvent.headers,
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          },
        },
      ],
    });
    await producer.send({
      topic: topics.imagesRequested.name,
      acks: -1,
      messages: [{ key: 'poison-key', value: poison, headers: { 'x-origin': 'test' } }],
    });

    bus = createBus({
      kafka: env.kafka,
      logger: silentLogger(),
      registry: createRegistry('dlq-replay-test'),
      clientId: 'dlq-replay-test',
    });
    const consumer = bus.consumer({
      groupId: uniqueName('processor'),
      topics: [topics.imagesRequested],
      deadLetter: topics.imagesDlq,
      handler: () => Promise.resolve(fail('the origin refuses this image for good')),
    });
    await consumer.start();
    await waitFor(
      async () => {
        const high = await highWatermarks(kafka, topics.imagesDlq.name);
        return [...high.values()].reduce((a, b) => a + b, 0n) >= 2n ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'two dead letters on images.dlq' },
    );
    // The consumer would take the replayed messages too; the test reads them itself.
    await bus.close();
    originals = await readTopic(kafka, topics.imagesRequested.name, 2);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await bus?.close();
  });

  it('lists each dead letter with its cause, reason, original topic, key and event', async () => {
    const { deadLetters } = json<{ deadLetters: ListedLetter[] }>(
      await dlqReplay('--list', '--json'),
    );
    const images = deadLetters.filter((l) => l.dlq === 'images');
    expect(deadLetters).toHaveLength(2);
    expect(images.map((l) => [l.cause, l.state, l.original?.topic, l.key, l.event]).sort()).toEqual(
      [
        ['fail', 'pending', topics.imagesRequested.name, image.imageId, 'ImageRequested'],
        ['poison', 'pending', topics.imagesRequested.name, 'poison-key', '(no schema header)'],
      ].sort(),
    );
    const failed = images.find((l) => l.cause === 'fail')!;
    expect(failed.reason).toBe('the origin refuses this image for good');
    expect(images.find((l) => l.cause === 'poison')!.reason).toMatch(
      /^undecodable: ERR_DECODE_MISSING_SCHEMA/,
    );

    const text = await dlqReplay('--list');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `images (${topics.imagesDlq.name}): 2 dead letters, 2 not replayed`,
    );
    expect(text.stdout).toContain('the origin refuses this image for good');
    expect(text.stdout).toContain(
      `notifications (${topics.notificationsDlq.name}): 0 dead letters`,
    );
  });

  it('a dry run shows what would be replayed and publishes nothing', async () => {
    const out = json<ReplayOutput>(await dlqReplay('--replay', '--dry-run', '--json'));
    expect(out.dryRun).toBe(true);
    expect(out.replayed.map((r) => r.destination)).toEqual([
      topics.imagesRequested.name,
      topics.imagesRequested.name,
    ]);
    const high = await highWatermarks(kafka, topics.imagesRequested.name);
    expect([...high.values()].reduce((a, b) => a + b, 0n)).toBe(2n);
  });

  it('replays to the original topic with key, value and headers intact, and remembers it', async () => {
    const first = await dlqReplay('--replay', '--limit', '1');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^replayed images \d+\/\d+ → /m);
    expect(first.stdout).toContain('1 dead letter replayed');

    const second = json<ReplayOutput>(await dlqReplay('--replay', '--json'));
    expect(second.replayed).toHaveLength(1);

    const all = await readTopic(kafka, topics.imagesRequested.name, 4);
    const replays = all.filter((r) => REPLAYED_FROM_HEADER in headerRecord(r.message.headers));
    expect(replays).toHaveLength(2);
    for (const original of originals) {
      const copy = replays.find((r) => keyOf(r) === keyOf(original))!;
      expect(valueOf(copy).equals(valueOf(original))).toBe(true);
      const { [REPLAYED_FROM_HEADER]: from, ...headers } = headerRecord(copy.message.headers);
      expect(headers).toEqual(headerRecord(original.message.headers));
      expect(from).toMatch(
        new RegExp(`^${topics.imagesDlq.name.replace(/\./g, '\\.')}/\\d+/\\d+$`),
      );
      // Same key, same partitioner: the copy lands where the original was.
      expect(copy.partition).toBe(original.partition);
    }

    const third = await dlqReplay('--replay');
    expect(third.code).toBe(0);
    expect(third.stdout.trim()).toBe('nothing to replay');
    const high = await highWatermarks(kafka, topics.imagesRequested.name);
    expect([...high.values()].reduce((a, b) => a + b, 0n)).toBe(4n);

    const { deadLetters } = json<{ deadLetters: ListedLetter[] }>(
      await dlqReplay('--list', '--json', '--dlq', 'images'),
    );
    expect(deadLetters.map((l) => l.state)).toEqual(['replayed', 'replayed']);
  });

  it('refuses a dead letter whose original topic is not one of this deployment', async () => {
    const completed = encodeEvent('RequestCompleted', fixture('RequestCompleted'));
    const envelope: Envelope = {
      originalTopic: 'someone-else.requests.completed.v1',
      originalPartition: 0,
      originalOffset: '7',
      key: 'k',
      payload: completed.value,
      headers: completed.headers,
      attempt: 10,
      firstAttemptAt: Date.now(),
      dueAt: Date.now(),
      reason: 'notification failed: request (HTTP 500)',
      failureCode: null,
    };
    const encoded = encodeEvent('Envelope', envelope);
    await producer.send({
      topic: topics.notificationsDlq.name,
      acks: -1,
      messages: [
        {
          key: 'k',
          value: encoded.value,
          headers: { ...encoded.headers, [DEAD_LETTER_CAUSE_HEADER]: 'exhausted' },
        },
      ],
    });
    const run = await dlqReplay('--replay', '--dlq', 'notifications');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('"someone-else.requests.completed.v1"');
    expect(run.stderr).toContain('KAFKA_TOPIC_PREFIX');
    const high = await highWatermarks(kafka, topics.requestsCompleted.name);
    expect([...high.values()].reduce((a, b) => a + b, 0n)).toBe(0n);
    // Still listed as not replayed, for the operator to look at.
    const { deadLetters } = json<{ deadLetters: ListedLetter[] }>(
      await dlqReplay('--list', '--json', '--dlq', 'notifications'),
    );
    expect(deadLetters.map((l) => [l.state, l.cause, l.original?.topic])).toEqual([
      ['pending', 'exhausted', 'someone-else.requests.completed.v1'],
    ]);
  });

  it('names a bad argument and exits 2', async () => {
    const run = await dlqReplay('--replay', '--since', 'yesterday');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--since "yesterday"');
  });
});
