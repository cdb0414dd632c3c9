/**
 * Helpers for ingest's integration tests on the real engines: run ingest in-process, read
 * exactly what was produced to the catalogue topics during an action, and inspect S3.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createKafka, createS3Client, silentLogger } from '@imgpipe/platform';
import { decodeEvent, type AnyEvent, type TopicSpec } from '@imgpipe/schemas';
import { createIngest, loadConfig, type Ingest } from '../../src';
import { testEnv, waitFor } from '../../../test/support/env';

export const env = testEnv();
const logger = silentLogger();

export interface RunningIngest {
  ingest: Ingest;
  url: string;
  stop(): Promise<void>;
}

/** ingest with the real Kafka/S3/Cassandra of the test run (env overrides on top). */
export async function startIngest(overrides: Record<string, string> = {}): Promise<RunningIngest> {
  const spoolDir = await mkdtemp(path.join(tmpdir(), 'imgpipe-ingest-it-'));
  const config = loadConfig({
    ...process.env,
    HTTP_PORT: '0',
    UPLOAD_SPOOL_DIR: spoolDir,
    PUBLIC_BASE_URL: 'http://imgpipe.test',
    ...overrides,
  });
  const ingest = createIngest(config, { logger });
  await ingest.start();
  return {
    ingest,
    url: ingest.url(),
    async stop() {
      await ingest.stop();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

export interface ProducedEvent {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Broker record timestamp (the producer's create time), ms. */
  timestamp: number;
  event: AnyEvent;
}

type Offsets = Map<string, Map<number, bigint>>;

const kafka = createKafka(env.kafka, logger);

async function endOffsets(topics: readonly TopicSpec[]): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Offsets = new Map();
    for (const t of topics) {
      const partitions = await admin.fetchTopicOffsets(t.name);
      out.set(t.name, new Map(partitions.map((p) => [p.partition, BigInt(p.high)])));
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Everything produced to `topics` while `action` ran: end offsets are taken before and after,
 * and exactly that range is read back (with a fresh consumer group, seeking to the "before"
 * offsets). Other tests may produce to the same topics concurrently: callers filter by their
 * own request id or marker.
 */
export async function producedDuring<T>(
  topics: readonly TopicSpec[],
  action: () => Promise<T>,
): Promise<{ result: T; events: ProducedEvent[] }> {
  const before = await endOffsets(topics);
  const result = await action();
  const after = await endOffsets(topics);

  const pending = new Set<string>();
  for (const [topic, parts] of after) {
    for (const [partition, high] of parts) {
      if (high > (before.get(topic)?.get(partition) ?? 0n)) pending.add(`${topic}/${partition}`);
    }
  }
  const events: ProducedEvent[] = [];
  if (pending.size === 0) return { result, events };

  const consumer = kafka.consumer({ groupId: `it-ingest-${randomUUID()}` });
  await consumer.connect();
  try {
    for (const t of topics) await consumer.subscribe({ topic: t.name, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const offset = BigInt(message.offset);
        const from = before.get(topic)?.get(partition) ?? 0n;
        const to = after.get(topic)?.get(partition) ?? 0n;
        if (offset >= from && offset < to) {
          events.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            timestamp: Number(message.timestamp),
            event: decodeEvent(message.value, message.headers),
          });
        }
        if (offset >= to - 1n) pending.delete(`${topic}/${partition}`);
        return Promise.resolve();
      },
    });
    for (const [topic, parts] of before) {
      for (const [partition, offset] of parts) {
        consumer.seek({ topic, partition, offset: offset.toString() });
      }
    }
    await waitFor(() => (pending.size === 0 ? true : undefined), {
      timeoutMs: 60_000,
      what: `the produced range of ${[...pending].join(', ')}`,
    });
  } finally {
    await consumer.disconnect();
  }
  events.sort((a, b) =>
    a.topic === b.topic
      ? a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))
      : a.topic.localeCompare(b.topic),
  );
  return { result, events };
}

export const s3 = createS3Client(env.s3);

export async function getObject(key: string): Promise<Buffer | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: env.s3.S3_BUCKET, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

export async function listKeys(prefix: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: env.s3.S3_BUCKET,
        Prefix: prefix,
        ContinuationToken: token,
      }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.add(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Input CSVs created during `action` whose content contains `marker` (should be none for rejections). */
export async function inputsWithMarkerCreatedDuring(
  marker: string,
  action: () => Promise<unknown>,
): Promise<string[]> {
  const before = await listKeys('inputs/');
  await action();
  const created = [...(await listKeys('inputs/'))].filter((k) => !before.has(k));
  const withMarker: string[] = [];
  for (const key of created) {
    if ((await getObject(key))?.toString().includes(marker)) withMarker.push(key);
  }
  return withMarker;
}

/** An event carries the marker when any of its string fields does. */
export const mentions = (e: ProducedEvent, marker: string): boolean =>
  JSON.stringify(e.event.value).includes(marker);
