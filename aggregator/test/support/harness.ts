/**
 * Shared pieces of the aggregator's integration tests: migrations, private topics, in-process
 * aggregators on port 0, a producer for test events, and a reader of everything on a topic.
 */
import {
  createBus,
  createCassandraClient,
  createKafka,
  createRegistry,
  ensureTopics,
  migrate,
  silentLogger,
  createLogger,
  type Bus,
  type CassandraClient,
  type Logger,
} from '@imgpipe/platform';
import {
  Topics,
  cqlMigrationsDir,
  type AnyEvent,
  type RequestCompleted,
  type TopicSpec,
} from '@imgpipe/schemas';
import {
  createAggregator,
  type Aggregator,
  type AggregatorDeps,
  type AggregatorTopics,
} from '../../src/app';
import { loadConfig } from '../../src/config';
import type { TestEvent } from '../../src/testing/synthetic-request';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';

export { syntheticRequest, type TestEvent, type Truth } from '../../src/testing/synthetic-request';

export const env = testEnv();

export const testLogger = (): Logger =>
  process.env.LOG_LEVEL
    ? createLogger({ service: 'aggregator-test', level: process.env.LOG_LEVEL })
    : silentLogger();

/**
 * This test file's own keyspace (a crash child inherits it through AGG_TEST_KEYSPACE). The
 * aggregator's sweeper looks at every open request of its keyspace: in a shared one it would
 * finish other test files' (or other services') interrupted completions onto this file's
 * private topics. Created by `migrateOnce`, dropped by `dropKeyspace`.
 */
export const keyspace = process.env.AGG_TEST_KEYSPACE ?? uniqueName('aggtest');
export const cassandraEnv = { ...env.cassandra, CASSANDRA_KEYSPACE: keyspace };

let migrated: Promise<unknown> | undefined;
/** Creates this file's keyspace with every migration of schemas/cql. */
export const migrateOnce = (): Promise<unknown> =>
  (migrated ??= migrate(cassandraEnv, {
    dir: cqlMigrationsDir,
    logger: silentLogger(),
    owner: 'aggregator-tests',
  }));

export async function dropKeyspace(): Promise<void> {
  const client = createCassandraClient(env.cassandra, {
    withoutKeyspace: true,
    readTimeoutMs: 60_000,
  });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
  } finally {
    await client.shutdown();
  }
}

/** Fresh copies of the aggregator's topics under random names. */
export async function privateTopics(partitions = 6): Promise<AggregatorTopics> {
  const name = uniqueName('agg');
  const topics: AggregatorTopics = {
    requestEvents: { ...Topics.requestEvents, name: `${name}.events`, partitions },
    requestsCompleted: { ...Topics.requestsCompleted, name: `${name}.completed`, partitions: 3 },
    deadLetter: { ...Topics.requestEventsDlq, name: `${name}.dlq` },
  };
  await ensureTopics(createKafka(env.kafka, silentLogger()), [
    topics.requestEvents,
    topics.requestsCompleted,
    topics.deadLetter,
  ]);
  return topics;
}

export interface StartOptions extends Partial<Omit<AggregatorDeps, 'logger'>> {
  env?: Record<string, string>;
  groupId?: string;
}

/** An aggregator in this process, on a free port, against the test engines. */
export async function startAggregator(options: StartOptions = {}): Promise<Aggregator> {
  const config = loadConfig({
    ...process.env,
    HTTP_PORT: '0',
    CASSANDRA_KEYSPACE: keyspace,
    AGGREGATOR_GROUP_ID: options.groupId ?? uniqueName('agg_group'),
    ...options.env,
  });
  const { env: _env, groupId: _groupId, ...deps } = options;
  const aggregator = createAggregator(config, { logger: testLogger(), ...deps });
  await aggregator.start();
  return aggregator;
}

/** A bus for test producers and readers (closed by the caller). */
export const testBus = (): Bus =>
  createBus({
    kafka: env.kafka,
    logger: silentLogger(),
    registry: createRegistry('aggregator-test'),
    clientId: 'aggregator-test',
  });

/** Publishes events keyed by request id, in the given order (order kept per request). */
export async function publish(
  bus: Bus,
  topic: TopicSpec,
  events: readonly TestEvent[],
): Promise<void> {
  const producer = await bus.producer();
  await producer.send(
    topic,
    events.map((e) => ({ name: e.name, value: e.value, key: e.value.requestId }) as never),
  );
}

/** Sum of a topic's end offsets (how many messages it holds; nothing is deleted in a test). */
export async function topicSize(topic: string): Promise<number> {
  const admin = createKafka(env.kafka, silentLogger()).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every message on a topic, read by a fresh group from the beginning to the current end. */
export async function readAll(topic: TopicSpec): Promise<AnyEvent[]> {
  const expected = await topicSize(topic.name);
  const seen: AnyEvent[] = [];
  const bus = testBus();
  try {
    const consumer = bus.consumer({
      groupId: uniqueName('agg_reader'),
      topics: [topic],
      partitionsConcurrently: topic.partitions,
      handler: (message) => {
        seen.push(message.event);
        return Promise.resolve({ kind: 'done' });
      },
    });
    await consumer.start();
    await waitFor(() => (seen.length >= expected ? true : undefined), {
      timeoutMs: 60_000,
      what: `${expected} messages on ${topic.name} (have ${seen.length})`,
    });
  } finally {
    await bus.close();
  }
  return seen;
}

export const completionsOn = async (topic: TopicSpec): Promise<RequestCompleted[]> =>
  (await readAll(topic)).flatMap((e) => (e.name === 'RequestCompleted' ? [e.value] : []));

/** A Cassandra client on the test keyspace (shut down by the caller). */
export async function testCassandra(): Promise<CassandraClient> {
  const client = createCassandraClient(cassandraEnv);
  await client.connect();
  return client;
}

export interface StoredOutcome {
  completionId: string;
  status: string;
  published: boolean;
  total: number;
  compressed: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  rowStatus: string | null;
  rowCompressed: number | null;
  rowFailed: number | null;
}

/** The completion latch and the request row of a request, or undefined while not completed. */
export async function storedOutcome(
  cassandra: CassandraClient,
  requestId: string,
): Promise<StoredOutcome | undefined> {
  const latch = (
    await cassandra.execute(
      'SELECT completion_id, status, published, total, compressed, failed, bytes_in, bytes_out FROM request_completions WHERE request_id = ?',
      [requestId],
      { prepare: true },
    )
  ).first();
  if (!latch) return undefined;
  const row = (
    await cassandra.execute(
      'SELECT status, compressed_images, failed_images FROM requests WHERE request_id = ?',
      [requestId],
      { prepare: true },
    )
  ).first();
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    completionId: (latch.get('completion_id') as { toString(): string }).toString(),
    status: latch.get('status') as string,
    published: latch.get('published') === true,
    total: n(latch.get('total'))!,
    compressed: n(latch.get('compressed'))!,
    failed: n(latch.get('failed'))!,
    bytesIn: n(latch.get('bytes_in'))!,
    bytesOut: n(latch.get('bytes_out'))!,
    rowStatus: row ? (row.get('status') as string) : null,
    rowCompressed: row ? n(row.get('compressed_images')) : null,
    rowFailed: row ? n(row.get('failed_images')) : null,
  };
}
