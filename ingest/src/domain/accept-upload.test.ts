/**
 * The accept path with in-memory fakes: event order and keys, batching, what happens when S3
 * or Kafka fail at each step, and Idempotency-Key replay/conflict.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ImgpipeError, silentLogger } from '@imgpipe/platform';
import { Topics, imageIdFor } from '@imgpipe/schemas';
import { FakePublisher, MemoryIdempotencyStore, MemoryInputStore } from '../testing/fakes';
import { createUploadAcceptor, uploadFingerprint, type ValidUpload } from './accept-upload';
import type { ProductRow } from './csv/row';
import type { UploadOptions } from './form-fields';
import type { UploadedFile } from './ports';

const REQUEST_ID = '3f8e7a52-0c1d-4b6e-9a7f-2d5c8b1e4f60';
const kafkaDown = () => new ImgpipeError('ERR_BUS_PRODUCE', 'broker down', { retriable: true });

const fileOf = (text: string): UploadedFile => {
  const bytes = Buffer.from(text);
  return {
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    open: () => Readable.from([bytes]),
  };
};

/** `counts[i]` images for product i. */
const productsOf = (counts: number[]): ProductRow[] =>
  counts.map((n, p) => ({
    productIndex: p,
    line: p + 2,
    serialNumber: String(p + 1),
    productName: `Product ${p + 1}`,
    urls: Array.from({ length: n }, (_, i) => `https://img.example.com/${p}/${i}.jpg`),
  }));

const OPTIONS: UploadOptions = {
  compression: { quality: 50, format: 'keep', maxDimension: null },
  webhookUrl: null,
  email: null,
};

const uploadOf = (counts: number[], extra: Partial<ValidUpload> = {}): ValidUpload => ({
  file: fileOf(`csv with ${counts.join('/')}`),
  products: productsOf(counts),
  images: counts.reduce((a, b) => a + b, 0),
  options: OPTIONS,
  ...extra,
});

function setup(batchSize = 3) {
  const publisher = new FakePublisher();
  const inputs = new MemoryInputStore();
  const idempotency = new MemoryIdempotencyStore();
  let n = 0;
  const acceptor = createUploadAcceptor({
    publisher,
    inputs,
    idempotency,
    logger: silentLogger(),
    publicBaseUrl: 'https://imgpipe.example.com/',
    batchSize,
    retryAfterSeconds: 7,
    // Distinct, valid UUIDs: the first is REQUEST_ID.
    newRequestId: () =>
      n++ === 0 ? REQUEST_ID : `3f8e7a52-0c1d-4b6e-9a7f-${String(n).padStart(12, '0')}`,
  });
  return { publisher, inputs, idempotency, acceptor };
}

const rejection = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as ImgpipeError & { retryAfterSeconds?: number };
  }
  throw new Error('expected a rejection');
};

describe('accepting an upload', () => {
  it('stores the CSV, then publishes RequestAccepted, then one ImageRequested per image in batches', async () => {
    const { publisher, inputs, acceptor } = setup(3);
    let storedBeforeFirstPublish = false;
    publisher.failWhen = (call) => {
      if (call === 0) storedBeforeFirstPublish = inputs.objects.has(`inputs/${REQUEST_ID}.csv`);
      return undefined;
    };
    const upload = uploadOf([2, 1, 4]);
    const { body, replayed } = await acceptor.accept(upload);

    expect(replayed).toBe(false);
    expect(body).toEqual({
      request_id: REQUEST_ID,
      status: 'PENDING',
      status_url: `https://imgpipe.example.com/status/${REQUEST_ID}`,
      products: 3,
      images: 7,
      message: 'File accepted, processing started',
    });
    expect(storedBeforeFirstPublish).toBe(true);
    expect(inputs.objects.get(`inputs/${REQUEST_ID}.csv`)?.toString()).toBe('csv with 2/1/4');

    // One call per batch: RequestAccepted alone, then 3 + 3 + 1 images.
    expect(publisher.calls.map((c) => [c.topic, c.events.length])).toEqual([
      [Topics.requestEvents.name, 1],
      [Topics.imagesRequested.name, 3],
      [Topics.imagesRequested.name, 3],
      [Topics.imagesRequested.name, 1],
    ]);
    const [accepted, ...images] = publisher.events();
    expect(accepted).toMatchObject({
      name: 'RequestAccepted',
      key: REQUEST_ID,
      value: {
        requestId: REQUEST_ID,
        products: 3,
        images: 7,
        inputCsvKey: `inputs/${REQUEST_ID}.csv`,
        options: OPTIONS.compression,
      },
    });
    const positions = [
      [0, 0],
      [0, 1],
      [1, 0],
      [2, 0],
      [2, 1],
      [2, 2],
      [2, 3],
    ];
    expect(images.map((e) => [e.name, e.key, e.value.productIndex, e.value.imageIndex])).toEqual(
      positions.map(([p, i]) => ['ImageRequested', imageIdFor(REQUEST_ID, p!, i!), p, i]),
    );
    expect(images[6]!.value).toMatchObject({
      imageId: imageIdFor(REQUEST_ID, 2, 3),
      requestId: REQUEST_ID,
      serialNumber: '3',
      productName: 'Product 3',
      inputUrl: 'https://img.example.com/2/3.jpg',
      options: OPTIONS.compression,
    });
    expect(new Set(publisher.events().map((e) => e.value.eventId)).size).toBe(8);
  });

  it('S3 down: 503 ERR_STORAGE_UNAVAILABLE with Retry-After, nothing published', async () => {
    const { publisher, inputs, acceptor } = setup();
    inputs.failSave = new Error('S3 unreachable');
    const err = await rejection(acceptor.accept(uploadOf([2])));
    expect(err).toMatchObject({
      httpStatus: 503,
      code: 'ERR_STORAGE_UNAVAILABLE',
      retryAfterSeconds: 7,
    });
    expect(publisher.calls).toEqual([]);
  });

  it('Kafka down before RequestAccepted: 503 ERR_QUEUE_UNAVAILABLE, the stored CSV is removed', async () => {
    const { publisher, inputs, acceptor } = setup();
    publisher.failWhen = () => kafkaDown();
    const err = await rejection(acceptor.accept(uploadOf([2])));
    expect(err).toMatchObject({
      httpStatus: 503,
      code: 'ERR_QUEUE_UNAVAILABLE',
      retryAfterSeconds: 7,
    });
    expect(publisher.calls).toEqual([]);
    expect(inputs.objects.size).toBe(0);
  });

  it('Kafka fails part-way: every image not queued gets ImageFailed INTERNAL, so the request still completes', async () => {
    const { publisher, inputs, acceptor } = setup(3);
    // Calls: 0 RequestAccepted, then image batches of 3, 3, 2 (in flight together): the second
    // fails, the first and third are acknowledged; then the ImageFailed batches.
    publisher.failWhen = (call) => (call === 2 ? kafkaDown() : undefined);
    const err = await rejection(acceptor.accept(uploadOf([4, 4])));
    expect(err).toMatchObject({
      httpStatus: 503,
      code: 'ERR_REQUEST_CLOSED',
      retryAfterSeconds: 7,
      details: { request_id: REQUEST_ID, images_queued: 5 },
    });
    expect(err.message).toContain(REQUEST_ID);

    const events = publisher.events();
    const requested = events.filter((e) => e.name === 'ImageRequested');
    const failed = events.filter((e) => e.name === 'ImageFailed');
    expect(requested).toHaveLength(5);
    // Exactly the failed batch's images: products 0/3, 1/0, 1/1.
    expect(failed.map((f) => [f.value.productIndex, f.value.imageIndex])).toEqual([
      [0, 3],
      [1, 0],
      [1, 1],
    ]);
    // Each image has exactly one of the two, so the aggregator can count the request done.
    const ids = [...requested, ...failed].map((e) => e.value.imageId as string);
    expect(new Set(ids).size).toBe(8);
    for (const f of failed) {
      expect(f).toMatchObject({
        topic: Topics.requestEvents.name,
        key: REQUEST_ID,
        value: { requestId: REQUEST_ID, failureCode: 'INTERNAL', attempts: 0, httpStatus: null },
      });
      expect(f.value.message).toContain('ingest could not queue');
    }
    // RequestAccepted was acknowledged first; the request exists, so its CSV stays.
    expect(events[0]!.name).toBe('RequestAccepted');
    expect(inputs.objects.has(`inputs/${REQUEST_ID}.csv`)).toBe(true);
  });

  it('Kafka fails part-way and stays down: 503 ERR_REQUEST_STRANDED (the aggregator closes it on stall)', async () => {
    const { publisher, acceptor } = setup(3);
    // Batches of 3, 3, 2: the first is acknowledged, everything after fails.
    publisher.failWhen = (call) => (call >= 2 ? kafkaDown() : undefined);
    const err = await rejection(acceptor.accept(uploadOf([4, 4])));
    expect(err).toMatchObject({
      httpStatus: 503,
      code: 'ERR_REQUEST_STRANDED',
      details: { request_id: REQUEST_ID, images_queued: 3 },
    });
    expect(publisher.events().filter((e) => e.name === 'ImageFailed')).toEqual([]);
  });

  it('adds a whsec_ secret to the 202 and RequestAccepted only when a webhook URL is given', async () => {
    const { publisher, acceptor } = setup();
    const { body } = await acceptor.accept(
      uploadOf([1], { options: { ...OPTIONS, webhookUrl: 'https://hooks.example.com/x' } }),
    );
    expect(body.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(publisher.events()[0]!.value).toMatchObject({
      webhookUrl: 'https://hooks.example.com/x',
      webhookSecret: body.webhook_secret,
    });
  });
});

describe('Idempotency-Key', () => {
  it('same key and same file: the first 202 again, nothing new published', async () => {
    const { publisher, inputs, acceptor } = setup();
    const upload = uploadOf([2], {
      idempotencyKey: 'order-42',
      options: { ...OPTIONS, webhookUrl: 'https://hooks.example.com/x' },
    });
    const first = await acceptor.accept(upload);
    const calls = publisher.calls.length;
    const second = await acceptor.accept({ ...upload, file: fileOf('csv with 2') });
    expect(second).toEqual({ body: first.body, replayed: true });
    expect(publisher.calls).toHaveLength(calls);
    expect(inputs.objects.size).toBe(1);
  });

  it('same key, different file: 409 ERR_IDEMPOTENCY_KEY_REUSED', async () => {
    const { publisher, acceptor } = setup();
    await acceptor.accept(uploadOf([2], { idempotencyKey: 'k1' }));
    const calls = publisher.calls.length;
    const err = await rejection(acceptor.accept(uploadOf([3], { idempotencyKey: 'k1' })));
    expect(err).toMatchObject({ httpStatus: 409, code: 'ERR_IDEMPOTENCY_KEY_REUSED' });
    expect(err.message).toContain('different file');
    expect(publisher.calls).toHaveLength(calls);
  });

  it('same key and file with different options: 409 too', async () => {
    const { acceptor } = setup();
    await acceptor.accept(uploadOf([2], { idempotencyKey: 'k2' }));
    const err = await rejection(
      acceptor.accept(
        uploadOf([2], {
          idempotencyKey: 'k2',
          options: { ...OPTIONS, compression: { ...OPTIONS.compression, quality: 90 } },
        }),
      ),
    );
    expect(err).toMatchObject({ httpStatus: 409, code: 'ERR_IDEMPOTENCY_KEY_REUSED' });
    expect(err.message).toContain('different options');
  });

  it('while the first attempt is still running: 409 ERR_IDEMPOTENCY_IN_PROGRESS with Retry-After', async () => {
    const { idempotency, acceptor } = setup();
    const upload = uploadOf([1], { idempotencyKey: 'k3' });
    await idempotency.claim({
      key: 'k3',
      fingerprint: uploadFingerprint(upload.file.sha256, upload.options),
      fileSha256: upload.file.sha256,
      requestId: '11111111-1111-4111-8111-111111111111',
    });
    const err = await rejection(acceptor.accept(upload));
    expect(err).toMatchObject({
      httpStatus: 409,
      code: 'ERR_IDEMPOTENCY_IN_PROGRESS',
      retryAfterSeconds: 7,
    });
  });

  it('a failed attempt frees its key: the retry with the same key is a new request', async () => {
    const { publisher, idempotency, acceptor } = setup();
    publisher.failWhen = (call) => (call === 0 ? kafkaDown() : undefined);
    const upload = uploadOf([1], { idempotencyKey: 'k4' });
    await expect(acceptor.accept(upload)).rejects.toMatchObject({ httpStatus: 503 });
    expect(idempotency.records.has('k4')).toBe(false);
    const retried = await acceptor.accept(upload);
    expect(retried.replayed).toBe(false);
    expect(retried.body.request_id).not.toBe(REQUEST_ID);
    expect(idempotency.records.get('k4')).toMatchObject({
      state: 'ACCEPTED',
      response: retried.body,
    });
  });

  it('key storage down: 503 ERR_IDEMPOTENCY_UNAVAILABLE, nothing stored or published', async () => {
    const { publisher, inputs, idempotency, acceptor } = setup();
    idempotency.failClaim = new Error('Cassandra unreachable');
    const err = await rejection(acceptor.accept(uploadOf([1], { idempotencyKey: 'k5' })));
    expect(err).toMatchObject({ httpStatus: 503, code: 'ERR_IDEMPOTENCY_UNAVAILABLE' });
    expect(publisher.calls).toEqual([]);
    expect(inputs.objects.size).toBe(0);
  });
});
