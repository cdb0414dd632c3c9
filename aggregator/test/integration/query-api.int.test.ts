/**
 * The query API and the read model on the real engines: Cassandra rows, S3 objects and HTTP
 * answers as a user sees them. Events are applied straight through the materializer here (no
 * Kafka in the way); the Kafka paths are in exactly-once / crash / outage tests.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, type CassandraClient } from '@imgpipe/platform';
import {
  FIXTURE_REQUEST_ID,
  completionIdFor,
  fixture,
  imageIdFor,
  inputCsvKey,
  inputSummaryMetadata,
} from '@imgpipe/schemas';
import type { Aggregator, AggregatorTopics } from '../../src/app';
import type { RequestEvent } from '../../src/domain/materializer';
import { goldenEvents } from '../../src/testing/golden-request';
import { waitFor } from '../../../test/support/env';
import {
  completionsOn,
  env,
  dropKeyspace,
  migrateOnce,
  privateTopics,
  startAggregator,
  testCassandra,
} from '../support/harness';

const s3 = createS3Client(env.s3);
let aggregator: Aggregator;
let topics: AggregatorTopics;
let cassandra: CassandraClient;

beforeAll(async () => {
  await migrateOnce();
  topics = await privateTopics(3);
  aggregator = await startAggregator({ topics, consume: false, sweep: false });
  cassandra = await testCassandra();
});

afterAll(async () => {
  await aggregator?.stop();
  await cassandra?.shutdown();
  s3.destroy();
  await dropKeyspace();
});

const get = (p: string, headers: Record<string, string> = {}) =>
  fetch(`${aggregator.url()}${p}`, { headers });

const accepted = (requestId: string, images: number, products: number): RequestEvent => ({
  name: 'RequestAccepted',
  value: fixture('RequestAccepted', { requestId, images, products }),
});
const compressed = (
  requestId: string,
  productIndex: number,
  imageIndex: number,
  extra: Partial<ReturnType<typeof fixture<'ImageCompressed'>>> = {},
): RequestEvent => ({
  name: 'ImageCompressed',
  value: fixture('ImageCompressed', {
    requestId,
    imageId: imageIdFor(requestId, productIndex, imageIndex),
    productIndex,
    imageIndex,
    inputUrl: `https://cdn.example.com/${productIndex}/${imageIndex}.jpg`,
    outputKey: `outputs/${requestId}/${productIndex + 1}-${imageIndex + 1}.jpg`,
    bytesIn: 1000,
    bytesOut: 300,
    ...extra,
  }),
});
const failed = (requestId: string, productIndex: number, imageIndex: number): RequestEvent => ({
  name: 'ImageFailed',
  value: fixture('ImageFailed', {
    requestId,
    imageId: imageIdFor(requestId, productIndex, imageIndex),
    productIndex,
    imageIndex,
  }),
});

const apply = async (...events: RequestEvent[]) => {
  for (const e of events) await aggregator.materializer.apply(e);
};

/**
 * A request row's progress is written at most every 250 ms (coalesced): wait, as a user
 * polling the status would, until it shows `final` finished images.
 */
const progressShows = (id: string, final: number) =>
  waitFor(
    async () => {
      const body = (await (await get(`/status/${id}`)).json()) as {
        progress: { compressed: number; failed: number };
      };
      return body.progress.compressed + body.progress.failed === final ? true : undefined;
    },
    { timeoutMs: 5_000, what: `status of ${id} showing ${final} final images` },
  );

describe('query API', () => {
  it('answers 400 for a malformed id and 404 for an unknown one, in the shared error shape', async () => {
    const bad = await get('/status/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: {
        code: 'ERR_INVALID_REQUEST_ID',
        message:
          'Request id must be a UUID like 0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70, got "not-a-uuid"',
        details: { field: 'request_id', value: 'not-a-uuid' },
      },
    });
    const id = randomUUID();
    for (const p of [
      `/status/${id}`,
      `/api/status/${id}`,
      `/requests/${id}/output.csv`,
      `/api/download/${id}`,
    ]) {
      const res = await get(p);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_REQUEST_NOT_FOUND',
      );
    }
    expect((await get(`/images/${id}/1/1`)).status).toBe(404);
    expect((await get('/api/download/123')).status).toBe(400);
  });

  it("answers PENDING from ingest's input CSV before RequestAccepted has been read, then from the read model", async () => {
    const id = randomUUID();
    // What ingest stores before it publishes RequestAccepted (schemas/src/objects.ts).
    await s3.send(
      new PutObjectCommand({
        Bucket: env.s3.S3_BUCKET,
        Key: inputCsvKey(id),
        Body: 'S. No.,Product Name,Input Image Urls\n',
        Metadata: inputSummaryMetadata({
          products: 2,
          images: 3,
          acceptedAt: Date.parse('2026-01-15T09:30:00.000Z'),
          options: { quality: 70, format: 'webp', maxDimension: 800 },
          hasWebhook: true,
        }),
      }),
    );
    const expected = {
      request_id: id,
      status: 'PENDING',
      progress: { total: 3, compressed: 0, failed: 0, pending: 3, percent: 0 },
      created_at: '2026-01-15T09:30:00.000Z',
      updated_at: '2026-01-15T09:30:00.000Z',
      completed_at: null,
      options: { quality: 70, format: 'webp', max_dimension: 800 },
      webhook: { state: 'PENDING', attempts: 0, last_status_code: null },
      bytes_in: 0,
      bytes_out: 0,
    };
    const early = await get(`/status/${id}`);
    expect(early.status).toBe(200);
    expect(early.headers.get('cache-control')).toBe('no-store');
    expect(await early.json()).toEqual(expected);
    // The image listing works too: nothing final yet.
    const images = await get(`/status/${id}?include=images&limit=2`);
    expect(await images.json()).toEqual({
      ...expected,
      products: [],
      images_page: { limit: 2, next_cursor: null },
    });
    // Not a way around the query checks: a bad limit is still a 400.
    expect((await get(`/status/${id}?include=images&limit=0`)).status).toBe(400);

    // Once RequestAccepted is applied, the read model answers (same shape, its own values).
    await apply(accepted(id, 4, 2));
    const later = (await (await get(`/status/${id}`)).json()) as { progress: { total: number } };
    expect(later.progress.total).toBe(4);
  });

  it('shows PENDING, then PROCESSING with honest progress and the webhook block from the delivery log', async () => {
    const id = randomUUID();
    await apply(accepted(id, 4, 2));
    const pending = await get(`/status/${id}`);
    expect(pending.status).toBe(200);
    expect(pending.headers.get('cache-control')).toBe('no-store');
    const body = (await pending.json()) as Record<string, unknown>;
    expect(body).toEqual({
      request_id: id,
      status: 'PENDING',
      progress: { total: 4, compressed: 0, failed: 0, pending: 4, percent: 0 },
      created_at: new Date(fixture('RequestAccepted').occurredAt).toISOString(),
      updated_at: expect.any(String) as unknown,
      completed_at: null,
      // RequestAccepted's options, under the upload form's names.
      options: { quality: 50, format: 'keep', max_dimension: null },
      webhook: { state: 'PENDING', attempts: 0, last_status_code: null },
      bytes_in: 0,
      bytes_out: 0,
    });

    await apply(compressed(id, 0, 0), failed(id, 0, 1));
    // Two attempts logged by the notifier (0001's webhook_deliveries, target 'request').
    const insert = `INSERT INTO webhook_deliveries (request_id, target, attempt, completion_id, url, state, status_code, attempted_at) VALUES (?, 'request', ?, ?, 'https://hooks.example.com/imgpipe', ?, ?, ?)`;
    await cassandra.execute(insert, [id, 1, completionIdFor(id), 'RETRYING', 500, new Date()], {
      prepare: true,
    });
    await cassandra.execute(insert, [id, 2, completionIdFor(id), 'SUCCEEDED', 200, new Date()], {
      prepare: true,
    });

    await progressShows(id, 2);
    for (const route of [`/status/${id}`, `/api/status/${id.toUpperCase()}`]) {
      const res = await get(route);
      expect(await res.json()).toMatchObject({
        request_id: id,
        status: 'PROCESSING',
        progress: { total: 4, compressed: 1, failed: 1, pending: 2, percent: 50 },
        webhook: { state: 'SUCCEEDED', attempts: 2, last_status_code: 200 },
        bytes_in: 1000,
        bytes_out: 300,
      });
    }
  });

  it('pages through the images with limit and cursor, grouped by product', async () => {
    const id = randomUUID();
    await apply(accepted(id, 6, 3), compressed(id, 0, 0), failed(id, 0, 1), compressed(id, 1, 0));
    await apply(compressed(id, 2, 0), compressed(id, 2, 1));
    const positions: string[] = [];
    const outputs: (string | null)[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `include=images&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await get(`/status/${id}?${query}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as {
        products: {
          position: number;
          images: {
            position: number;
            status: string;
            output_url: string | null;
            failure_code: string | null;
          }[];
        }[];
        images_page: { limit: number; next_cursor: string | null };
      };
      for (const product of page.products) {
        for (const image of product.images) {
          positions.push(`${product.position}/${image.position}:${image.status}`);
          outputs.push(image.output_url ?? image.failure_code);
        }
      }
      cursor = page.images_page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(outputs.slice(0, 2)).toEqual([
      `http://127.0.0.1:8080/images/${id}/1/1`,
      'HTTP_NOT_FOUND',
    ]);
    expect(positions).toEqual([
      '1/1:COMPRESSED',
      '1/2:FAILED',
      '2/1:COMPRESSED',
      '3/1:COMPRESSED',
      '3/2:COMPRESSED',
    ]);

    for (const [query, field] of [
      ['include=images&limit=0', 'limit'],
      ['include=images&limit=abc', 'limit'],
      ['include=images&limit=1001', 'limit'],
      ['include=images&cursor=%21%21', 'cursor'],
      ['include=files', 'include'],
    ] as const) {
      const res = await get(`/status/${id}?${query}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: 'ERR_INVALID_QUERY', details: { field } },
      });
    }
  });

  it('answers 409 for the output CSV while not done, then serves the golden CSV as an attachment', async () => {
    const id = randomUUID();
    const { accepted: acc, results } = goldenEvents(id);
    await apply({ name: 'RequestAccepted', value: acc }, ...results.slice(0, -1));

    await progressShows(id, 11);
    const early = await get(`/requests/${id}/output.csv`);
    expect(early.status).toBe(409);
    expect(await early.json()).toMatchObject({
      error: {
        code: 'ERR_REQUEST_NOT_DONE',
        details: { status: 'PROCESSING', progress: { total: 12, pending: 1 } },
      },
    });

    await apply(results[results.length - 1]!);
    const expected = readFileSync(
      path.join(__dirname, '..', 'golden', 'output-injection-and-failures.csv'),
    )
      .toString('utf8')
      .replaceAll(FIXTURE_REQUEST_ID, id);
    for (const route of [`/requests/${id}/output.csv`, `/api/download/${id}`]) {
      const res = await get(route);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="imgpipe-${id}.csv"`,
      );
      expect(Buffer.from(await res.arrayBuffer()).toString('utf8')).toBe(expected);
    }
    const object = await s3.send(
      new GetObjectCommand({ Bucket: env.s3.S3_BUCKET, Key: `results/${id}.csv` }),
    );
    expect(await object.Body!.transformToString('utf8')).toBe(expected);

    const status = (await (await get(`/status/${id}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      status: 'COMPLETED_WITH_ERRORS',
      progress: { total: 12, compressed: 10, failed: 2, pending: 0, percent: 100 },
      output_csv_url: `http://127.0.0.1:8080/requests/${id}/output.csv`,
      completed_at: expect.any(String) as unknown,
    });

    const latch = (
      await cassandra.execute('SELECT * FROM request_completions WHERE request_id = ?', [id], {
        prepare: true,
      })
    ).first();
    expect((latch.get('completion_id') as { toString(): string }).toString()).toBe(
      completionIdFor(id),
    );
    expect(latch.get('published')).toBe(true);
    expect(latch.get('status')).toBe('COMPLETED_WITH_ERRORS');
    const row = (
      await cassandra.execute(
        'SELECT status, compressed_images, failed_images, total_images, output_csv_key FROM requests WHERE request_id = ?',
        [id],
        { prepare: true },
      )
    ).first();
    expect([
      row.get('status'),
      row.get('compressed_images'),
      row.get('failed_images'),
      row.get('total_images'),
      row.get('output_csv_key'),
    ]).toEqual(['COMPLETED_WITH_ERRORS', 10, 2, 12, `results/${id}.csv`]);
    const images = await cassandra.execute(
      'SELECT status FROM images_by_request WHERE request_id = ?',
      [id],
      { prepare: true },
    );
    expect(images.rows).toHaveLength(12);

    const published = (await completionsOn(topics.requestsCompleted)).filter(
      (c) => c.requestId === id,
    );
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      completionId: completionIdFor(id),
      total: 12,
      compressed: 10,
      failed: 2,
    });
  });

  it('streams a compressed image from S3 with its type, ETag and cache headers', async () => {
    const id = randomUUID();
    const bytes = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const key = `outputs/${id}/1-1.png`;
    await s3.send(
      new PutObjectCommand({
        Bucket: env.s3.S3_BUCKET,
        Key: key,
        Body: bytes,
        ContentType: 'image/png',
      }),
    );
    await apply(
      accepted(id, 3, 2),
      compressed(id, 0, 0, { outputKey: key, format: 'png' }),
      failed(id, 0, 1),
    );

    const res = await get(`/images/${id}/1/1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);

    expect((await get(`/images/${id}/1/1`, { 'if-none-match': etag! })).status).toBe(304);

    const failedImage = await get(`/images/${id}/1/2`);
    expect(failedImage.status).toBe(404);
    expect(await failedImage.json()).toMatchObject({
      error: {
        code: 'ERR_IMAGE_NOT_FOUND',
        details: { status: 'FAILED', failure_code: 'HTTP_NOT_FOUND' },
      },
    });
    expect((await get(`/images/${id}/2/1`)).status).toBe(404);
    for (const bad of [`/images/${id}/0/1`, `/images/${id}/1/x`, `/images/${id}/-1/1`]) {
      const r = await get(bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_INVALID_IMAGE_POSITION',
      );
    }
  });

  it('serves ops endpoints', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('imgpipe_aggregator_events_total');
    expect(metrics).toContain('imgpipe_completion_lwt_total{applied="true",service="aggregator"}');
  });
});
