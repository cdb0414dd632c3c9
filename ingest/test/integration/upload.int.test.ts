/**
 * POST /upload on the real engines (issue #4, "Tests"): the app in-process with the real bus,
 * S3 and Cassandra, real HTTP, and the catalogue topics read back.
 */
import { randomUUID } from 'node:crypto';
import { createCassandraClient } from '@imgpipe/platform';
import { Topics, imageIdFor, type ImageRequested, type RequestAccepted } from '@imgpipe/schemas';
import { csvForm, post } from '../../src/testing/harness';
import {
  env,
  getObject,
  inputsWithMarkerCreatedDuring,
  mentions,
  producedDuring,
  startIngest,
  type ProducedEvent,
  type RunningIngest,
} from './support';

const TOPICS = [Topics.requestEvents, Topics.imagesRequested];
const HEADER = 'S. No.,Product Name,Input Image Urls';

/** A CSV whose names and URLs carry `marker`, with `perRow` URLs on each of `rows` rows. */
const markedCsv = (marker: string, rows: number, perRow: number): string =>
  [
    HEADER,
    ...Array.from(
      { length: rows },
      (_, r) =>
        `${r + 1},${marker} product ${r + 1},"${Array.from(
          { length: perRow },
          (_, i) => `https://img.example.com/${marker}/${r}-${i}.jpg`,
        ).join(',')}"`,
    ),
  ].join('\r\n') + '\r\n';

const ofRequest = (events: ProducedEvent[], requestId: string) =>
  events.filter((e) => (e.event.value as { requestId?: string }).requestId === requestId);

describe('ingest on the real engines', () => {
  let svc: RunningIngest;
  beforeAll(async () => {
    svc = await startIngest();
  });
  afterAll(async () => {
    await svc.stop();
  });

  it('accepts an upload: the input CSV in S3, RequestAccepted first, then exactly one ImageRequested per image', async () => {
    const marker = `m${randomUUID().slice(0, 8)}`;
    // 700 rows x 3 URLs = 2,100 images: three produce batches of at most 1,000.
    const csv = markedCsv(marker, 700, 3);
    const { result: res, events } = await producedDuring(TOPICS, () =>
      post(`${svc.url}/upload`, csvForm(csv, { fields: { quality: '70', format: 'webp' } })),
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', products: 700, images: 2100 });
    const requestId = res.body.request_id as string;

    // The original bytes, as uploaded.
    expect((await getObject(`inputs/${requestId}.csv`))?.equals(Buffer.from(csv))).toBe(true);

    const mine = ofRequest(events, requestId);
    const accepted = mine.filter((e) => e.event.name === 'RequestAccepted');
    const requested = mine.filter((e) => e.event.name === 'ImageRequested');
    expect(accepted).toHaveLength(1);
    expect(requested).toHaveLength(2100);
    expect(mine).toHaveLength(2101);

    const acc = accepted[0]!;
    expect(acc).toMatchObject({ topic: Topics.requestEvents.name, key: requestId });
    expect(acc.event.value as RequestAccepted).toMatchObject({
      requestId,
      products: 700,
      images: 2100,
      inputCsvKey: `inputs/${requestId}.csv`,
      options: { quality: 70, format: 'webp', maxDimension: null },
      webhookUrl: null,
      webhookSecret: null,
    });
    // Acknowledged before any ImageRequested was sent (record create times).
    expect(Math.min(...requested.map((e) => e.timestamp))).toBeGreaterThanOrEqual(acc.timestamp);

    // Each image once, keyed by its deterministic id, with the CSV's values as given.
    const seen = new Set<string>();
    for (const e of requested) {
      const v = e.event.value as ImageRequested;
      expect(e.topic).toBe(Topics.imagesRequested.name);
      expect(e.key).toBe(imageIdFor(requestId, v.productIndex, v.imageIndex));
      expect(v.imageId).toBe(e.key);
      expect(v.serialNumber).toBe(String(v.productIndex + 1));
      expect(v.productName).toBe(`${marker} product ${v.productIndex + 1}`);
      expect(v.inputUrl).toBe(
        `https://img.example.com/${marker}/${v.productIndex}-${v.imageIndex}.jpg`,
      );
      expect(v.options).toEqual({ quality: 70, format: 'webp', maxDimension: null });
      seen.add(`${v.productIndex}/${v.imageIndex}`);
    }
    expect(seen.size).toBe(2100);
    // The request's events spread over the partitions of images.requested (keyed by image id).
    expect(new Set(requested.map((e) => e.partition)).size).toBe(Topics.imagesRequested.partitions);
  });

  it('a rejected upload produces no event and leaves no object', async () => {
    const marker = `m${randomUUID().slice(0, 8)}`;
    // Valid except the last row: the whole file must be checked before anything happens.
    const csv = `${markedCsv(marker, 300, 2)}301,${marker} bad,ftp://img.example.com/${marker}.jpg\r\n`;
    let status = 0;
    let line: unknown;
    const leftovers = await inputsWithMarkerCreatedDuring(marker, async () => {
      const { result, events } = await producedDuring(TOPICS, () =>
        post(
          `${svc.url}/upload`,
          csvForm(csv, { fields: { webhook_url: `https://hooks.example.com/${marker}` } }),
        ),
      );
      status = result.status;
      line = result.body.error?.details?.[0]?.line;
      expect(events.filter((e) => mentions(e, marker))).toEqual([]);
    });
    expect(status).toBe(422);
    expect(line).toBe(302);
    expect(leftovers).toEqual([]);
  });

  it('Idempotency-Key: the same file again gets the same request id and publishes nothing; another file gets 409', async () => {
    const marker = `m${randomUUID().slice(0, 8)}`;
    const key = `it-${marker}`;
    const csv = markedCsv(marker, 2, 2);
    const headers = { 'idempotency-key': key };
    const form = () =>
      csvForm(csv, { fields: { webhook_url: `https://hooks.example.com/${marker}` } });

    const first = await post(`${svc.url}/upload`, form(), headers);
    expect(first.status).toBe(202);
    const requestId = first.body.request_id as string;

    const { result: again, events } = await producedDuring(TOPICS, () =>
      post(`${svc.url}/upload`, form(), headers),
    );
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(ofRequest(events, requestId)).toEqual([]);
    expect(events.filter((e) => mentions(e, marker))).toEqual([]);

    const other = await post(`${svc.url}/upload`, csvForm(markedCsv(marker, 3, 1)), headers);
    expect(other.status).toBe(409);
    expect(other.body.error?.code).toBe('ERR_IDEMPOTENCY_KEY_REUSED');

    // Durable: the key is a Cassandra row (a restarted or other ingest replica sees it).
    const cassandra = createCassandraClient(env.cassandra);
    try {
      const row = (
        await cassandra.execute(
          'SELECT request_id, state, response FROM ingest_idempotency_keys WHERE idempotency_key = ?',
          [key],
        )
      ).first();
      expect(String(row.get('request_id'))).toBe(requestId);
      expect(row.get('state')).toBe('ACCEPTED');
      expect(JSON.parse(row.get('response') as string)).toEqual(first.body);
    } finally {
      await cassandra.shutdown();
    }
    const replica = await startIngest();
    try {
      const fromReplica = await post(`${replica.url}/upload`, form(), headers);
      expect(fromReplica.body.request_id).toBe(requestId);
    } finally {
      await replica.stop();
    }
  });
});

describe('Idempotency-Key under concurrency', () => {
  it('two simultaneous uploads with one key on two replicas create one request', async () => {
    const [a, b] = await Promise.all([startIngest(), startIngest()]);
    try {
      const marker = `m${randomUUID().slice(0, 8)}`;
      const headers = { 'idempotency-key': `it-race-${marker}` };
      const csv = markedCsv(marker, 50, 3);
      const { result, events } = await producedDuring(TOPICS, () =>
        Promise.all([
          post(`${a.url}/upload`, csvForm(csv), headers),
          post(`${b.url}/upload`, csvForm(csv), headers),
        ]),
      );
      const accepted = result.filter((r) => r.status === 202);
      const racing = result.filter((r) => r.status === 409);
      expect(accepted.length + racing.length).toBe(2);
      expect(accepted.length).toBeGreaterThanOrEqual(1);
      for (const r of racing) expect(r.body.error?.code).toBe('ERR_IDEMPOTENCY_IN_PROGRESS');
      expect(new Set(accepted.map((r) => r.body.request_id)).size).toBe(1);
      const mine = events.filter((e) => mentions(e, marker));
      expect(mine.filter((e) => e.event.name === 'ImageRequested')).toHaveLength(150);
      // RequestAccepted carries no marker: find it by the one request id.
      const requestId = accepted[0]!.body.request_id as string;
      expect(
        ofRequest(events, requestId).filter((e) => e.event.name === 'RequestAccepted'),
      ).toHaveLength(1);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('ingest with a dependency down', () => {
  it('Kafka down: 503 with Retry-After, no object left in S3, and the Idempotency-Key is free again', async () => {
    // Nothing listens on port 1: connection refused at once; the producer gives up after its retries.
    const svc = await startIngest({ KAFKA_BROKERS: '127.0.0.1:1', RETRY_AFTER_SECONDS: '9' });
    try {
      const marker = `m${randomUUID().slice(0, 8)}`;
      const key = `it-down-${marker}`;
      let res: Awaited<ReturnType<typeof post>> | undefined;
      const leftovers = await inputsWithMarkerCreatedDuring(marker, async () => {
        res = await post(`${svc.url}/upload`, csvForm(markedCsv(marker, 3, 2)), {
          'idempotency-key': key,
        });
      });
      expect(res?.status).toBe(503);
      expect(res?.headers.get('retry-after')).toBe('9');
      expect(res?.body.error?.code).toBe('ERR_QUEUE_UNAVAILABLE');
      expect(leftovers).toEqual([]);

      const cassandra = createCassandraClient(env.cassandra);
      try {
        const rows = await cassandra.execute(
          'SELECT request_id FROM ingest_idempotency_keys WHERE idempotency_key = ?',
          [key],
        );
        expect(rows.rowLength).toBe(0);
      } finally {
        await cassandra.shutdown();
      }
      // The edge and the ops routes still answer.
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });

  it('S3 down: 503 with Retry-After and nothing published', async () => {
    const svc = await startIngest({ S3_ENDPOINT: 'http://127.0.0.1:1' });
    try {
      const marker = `m${randomUUID().slice(0, 8)}`;
      const { result, events } = await producedDuring(TOPICS, () =>
        post(`${svc.url}/upload`, csvForm(markedCsv(marker, 2, 1))),
      );
      expect(result.status).toBe(503);
      expect(result.headers.get('retry-after')).toBe('5');
      expect(result.body.error?.code).toBe('ERR_STORAGE_UNAVAILABLE');
      expect(events.filter((e) => mentions(e, marker))).toEqual([]);
    } finally {
      await svc.stop();
    }
  });
});
