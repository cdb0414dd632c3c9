/**
 * Proof that each engine is real and usable from Node with the clients the services use
 * (Foundation issue, item 4). Runs against the engines the global setup provides.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Consumer, EachMessagePayload } from 'kafkajs';
import {
  createCassandraClient,
  createKafka,
  createS3Client,
  ensureBucket,
  silentLogger,
} from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';

const env = testEnv();
const logger = silentLogger();

describe('Kafka (kafkajs against the real broker)', () => {
  const kafka = createKafka(env.kafka, logger);
  const consumers: Consumer[] = [];
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
  });

  it('produces, consumes in a group, commits, and a second group member resumes after the commit', async () => {
    const topic = uniqueName('it_engines');
    const groupId = uniqueName('grp');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const first = Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `first-${i}` }));
    await producer.send({ topic, acks: -1, messages: first });

    // Member 1 reads the first five and commits them, then leaves.
    const seen1: string[] = [];
    const c1 = kafka.consumer({ groupId });
    consumers.push(c1);
    await c1.connect();
    await c1.subscribe({ topic, fromBeginning: true });
    await c1.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }: EachMessagePayload) => {
        seen1.push(message.value!.toString());
        await c1.commitOffsets([
          { topic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
      },
    });
    await waitFor(() => (seen1.length === 5 ? true : undefined), {
      what: 'member 1 to read 5 messages',
    });
    await c1.disconnect();

    const committed = kafka.admin();
    await committed.connect();
    const offsets = await committed.fetchOffsets({ groupId, topics: [topic] });
    await committed.disconnect();
    expect(offsets[0]!.partitions[0]!.offset).toBe('5');

    // Member 2 of the same group starts from the commit: it sees only what came after.
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'k5', value: 'second-0' },
        { key: 'k6', value: 'second-1' },
      ],
    });
    await producer.disconnect();
    const seen2: string[] = [];
    const c2 = kafka.consumer({ groupId });
    consumers.push(c2);
    await c2.connect();
    await c2.subscribe({ topic, fromBeginning: true });
    await c2.run({
      eachMessage: ({ message }) => {
        seen2.push(message.value!.toString());
        return Promise.resolve();
      },
    });
    await waitFor(() => (seen2.length >= 2 ? true : undefined), {
      what: 'member 2 to read 2 messages',
    });
    expect(seen1).toEqual(first.map((m) => m.value));
    expect(seen2).toEqual(['second-0', 'second-1']);
  });
});

describe('Cassandra (cassandra-driver against the real node)', () => {
  it('creates a table and inserts and selects with prepared statements', async () => {
    const client = createCassandraClient(env.cassandra, { withoutKeyspace: true });
    const ks = uniqueName('it');
    try {
      await client.execute(
        `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
      );
      await client.execute(
        `CREATE TABLE ${ks}.items (pk uuid, pos int, name text, size bigint, PRIMARY KEY (pk, pos))`,
      );
      const pk = '6f1c2e4a-8d9b-4c7e-a1f0-3b5d7e9f1a2c';
      const insert = `INSERT INTO ${ks}.items (pk, pos, name, size) VALUES (?, ?, ?, ?)`;
      await client.batch(
        [
          { query: insert, params: [pk, 2, 'second', 2048] },
          { query: insert, params: [pk, 1, 'first', 1024] },
        ],
        { prepare: true },
      );
      const rs = await client.execute(
        `SELECT pos, name, size FROM ${ks}.items WHERE pk = ?`,
        [pk],
        { prepare: true },
      );
      const rows = rs.rows.map((r): unknown[] => [
        r.get('pos'),
        r.get('name'),
        Number(r.get('size')),
      ]);
      expect(rows).toEqual([
        [1, 'first', 1024],
        [2, 'second', 2048],
      ]);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
      await client.shutdown();
    }
  });

  it('sees the imgpipe keyspace the migration runner created', async () => {
    const client = createCassandraClient(env.cassandra);
    try {
      const rs = await client.execute('SELECT version FROM schema_migrations');
      expect(rs.rows.map((r) => r.get('version') as number)).toContain(1);
      const tables = await client.execute(
        'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?',
        [env.cassandra.CASSANDRA_KEYSPACE],
      );
      expect(tables.rows.map((r) => r.get('table_name') as string)).toEqual(
        expect.arrayContaining([
          'requests',
          'images_by_request',
          'request_completions',
          'webhook_endpoints',
          'webhook_deliveries',
        ]),
      );
    } finally {
      await client.shutdown();
    }
  });
});

describe('S3 (@aws-sdk/client-s3 against S3Proxy)', () => {
  const s3 = createS3Client(env.s3);
  const bucket = env.s3.S3_BUCKET;
  const prefix = `${uniqueName('it')}/`;
  afterAll(() => s3.destroy());

  it('puts, gets, lists and deletes objects, including a streamed upload of unknown length', async () => {
    await ensureBucket(s3, bucket);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}a.txt`,
        Body: 'hello',
        ContentType: 'text/plain',
      }),
    );

    // 6 MiB in 64 KiB chunks from a stream with no length: lib-storage sends it as a multipart upload.
    const chunk = Buffer.alloc(64 * 1024, 7);
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < 96; i++) yield chunk;
      })(),
    );
    await new Upload({
      client: s3,
      params: {
        Bucket: bucket,
        Key: `${prefix}big.bin`,
        Body: stream,
        ContentType: 'application/octet-stream',
      },
    }).done();

    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}a.txt` }));
    expect(await got.Body!.transformToString()).toBe('hello');
    expect(got.ContentType).toBe('text/plain');
    const big = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}big.bin` }));
    expect(big.ContentLength).toBe(96 * 64 * 1024);
    const bigBody = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}big.bin` }))
      ).Body!.transformToByteArray(),
    );
    expect(bigBody.every((b) => b === 7)).toBe(true);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual([
      `${prefix}a.txt`,
      `${prefix}big.bin`,
    ]);

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}a.txt` }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}big.bin` }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    expect(after.KeyCount).toBe(0);
  });

  it('rejects a wrong secret (S3Proxy really checks signatures)', async () => {
    const bad = createS3Client({ ...env.s3, S3_SECRET_ACCESS_KEY: 'wrong' }, { maxAttempts: 1 });
    await expect(bad.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    bad.destroy();
  });
});
