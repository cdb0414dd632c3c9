import type { ImageRequested } from '@imgpipe/schemas';
import { failed, ok, type Result } from './failure';
import { createImageHandler, type Delivery } from './image-handler';
import { createImagePipeline } from './pipeline';
import type {
  Clock,
  CompressRequest,
  Compressed,
  FetchedImage,
  ImageResult,
  Outcome,
  Stage,
} from './ports';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(996, 7)]);

const request = (over: Partial<ImageRequested> = {}): ImageRequested => ({
  eventId: 'e-in',
  occurredAt: 1,
  requestId: 'req-1',
  imageId: 'img-1',
  productIndex: 1,
  imageIndex: 0,
  serialNumber: 'SKU-7',
  productName: 'Lamp',
  inputUrl: 'https://images.example/lamp.jpg',
  options: { quality: 50, format: 'keep', maxDimension: null },
  ...over,
});

/** Scripted fakes: each call to fetch/compress/put takes the next scripted answer. */
class World {
  fetchScript: Result<FetchedImage>[] = [];
  compressScript: Result<Compressed>[] = [];
  putFailures: Error[] = [];
  fetched: string[] = [];
  compressed: CompressRequest[] = [];
  objects = new Map<string, { bytes: Buffer; contentType: string }>();
  published: ImageResult[] = [];
  publishFailures: Error[] = [];
  sleeps: number[] = [];
  heartbeats = 0;
  stages: Stage[] = [];
  outcomes: [Outcome, string | null, boolean | undefined][] = [];
  bytes: [number, number][] = [];
  inFlight = 0;
  maxInFlight = 0;
  now = 1_700_000_000_000;
  nextId = 0;

  fetchOk(bytes: Buffer = JPEG) {
    this.fetchScript.push(ok({ bytes, httpStatus: 200, finalUrl: 'https://images.example/x' }));
    return this;
  }
  compressTo(size: number, format: Compressed['output']['format'] = 'jpeg') {
    this.compressScript.push(
      ok({
        output: { bytes: Buffer.alloc(size, 1), format, width: 40, height: 30 },
        input: { width: 80, height: 60 },
      }),
    );
    return this;
  }

  clock: Clock = {
    now: () => this.now,
    monotonic: () => (this.now += 5),
    sleep: (ms, signal) => {
      signal.throwIfAborted();
      this.sleeps.push(ms);
      return Promise.resolve();
    },
  };

  handler(maxDeliveries = 4) {
    const pipeline = createImagePipeline({
      fetcher: {
        fetch: (url) => {
          this.fetched.push(url);
          const next = this.fetchScript.shift();
          if (!next) throw new Error('unscripted fetch');
          return Promise.resolve(next);
        },
      },
      compressor: {
        compress: (req) => {
          this.compressed.push(req);
          const next = this.compressScript.shift();
          if (!next) throw new Error('unscripted compress');
          return Promise.resolve(next);
        },
      },
      store: {
        put: (key, bytes, contentType) => {
          const failure = this.putFailures.shift();
          if (failure) return Promise.reject(failure);
          this.objects.set(key, { bytes, contentType });
          return Promise.resolve();
        },
      },
      observer: this.observer,
      clock: this.clock,
      urls: { publicBaseUrl: 'http://edge.example' },
    });
    return createImageHandler({
      pipeline,
      publisher: {
        publish: (result) => {
          const failure = this.publishFailures.shift();
          if (failure) return Promise.reject(failure);
          this.published.push(result);
          return Promise.resolve();
        },
      },
      observer: this.observer,
      clock: this.clock,
      ids: { eventId: () => `e-${++this.nextId}` },
      retry: { maxDeliveries, quickRetryMs: 250 },
    });
  }

  observer = {
    stage: (stage: Stage) => {
      this.stages.push(stage);
    },
    bytes: (i: number, o: number) => {
      this.bytes.push([i, o]);
    },
    outcome: (outcome: Outcome, code: string | null, kept?: boolean) => {
      this.outcomes.push([outcome, code, kept]);
    },
    inFlight: (delta: 1 | -1) => {
      this.inFlight += delta;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    },
  };

  delivery(attempt = 1, req = request(), signal = new AbortController().signal): Delivery {
    return {
      request: req,
      attempt,
      signal,
      heartbeat: () => {
        this.heartbeats += 1;
        return Promise.resolve();
      },
    };
  }
}

const transient500 = () =>
  failed<FetchedImage>('HTTP_SERVER_ERROR', 'origin answered 503', {
    transient: true,
    httpStatus: 503,
  });

describe('image handler: success', () => {
  it('stores the compressed image under the 1-based key and publishes ImageCompressed', async () => {
    const w = new World().fetchOk().compressTo(400);
    const decision = await w.handler().handle(w.delivery());

    expect(decision).toEqual({ kind: 'done' });
    expect(w.fetched).toEqual(['https://images.example/lamp.jpg']);
    expect(w.compressed[0]).toMatchObject({ format: 'jpeg', options: request().options });
    const stored = w.objects.get('outputs/req-1/2-1.jpg');
    expect(stored?.contentType).toBe('image/jpeg');
    expect(stored?.bytes.length).toBe(400);
    expect(w.published).toHaveLength(1);
    const event = w.published[0]!;
    expect(event.name).toBe('ImageCompressed');
    expect(event.value).toMatchObject({
      eventId: 'e-1',
      occurredAt: w.now,
      requestId: 'req-1',
      imageId: 'img-1',
      productIndex: 1,
      imageIndex: 0,
      serialNumber: 'SKU-7',
      productName: 'Lamp',
      inputUrl: 'https://images.example/lamp.jpg',
      bytesIn: 1000,
      bytesOut: 400,
      width: 40,
      height: 30,
      format: 'jpeg',
      keptOriginal: false,
      outputKey: 'outputs/req-1/2-1.jpg',
      outputUrl: 'http://edge.example/images/req-1/2/1',
      attempts: 1,
      downloadMs: 5,
      compressMs: 5,
      uploadMs: 5,
    });
    expect(w.stages).toEqual(['download', 'compress', 'upload']);
    expect(w.bytes).toEqual([[1000, 400]]);
    expect(w.outcomes).toEqual([['compressed', null, false]]);
    expect(w.heartbeats).toBeGreaterThanOrEqual(2);
    expect(w.maxInFlight).toBe(1);
    expect(w.inFlight).toBe(0);
  });

  it('keeps the original bytes (and their format) when compression does not shrink them', async () => {
    const w = new World().fetchOk().compressTo(1000, 'webp');
    await w.handler().handle(w.delivery());
    expect(w.objects.get('outputs/req-1/2-1.jpg')?.bytes).toEqual(JPEG);
    expect(w.objects.has('outputs/req-1/2-1.webp')).toBe(false);
    expect(w.published[0]?.value).toMatchObject({
      keptOriginal: true,
      bytesIn: 1000,
      bytesOut: 1000,
      format: 'jpeg',
      width: 80,
      height: 60,
    });
    expect(w.outcomes).toEqual([['compressed', null, true]]);
  });

  it('writes the same key on a replay', async () => {
    const w = new World().fetchOk().compressTo(300).fetchOk().compressTo(310);
    const handler = w.handler();
    await handler.handle(w.delivery());
    await handler.handle(w.delivery());
    expect([...w.objects.keys()]).toEqual(['outputs/req-1/2-1.jpg']);
    expect(w.objects.get('outputs/req-1/2-1.jpg')?.bytes.length).toBe(310);
  });
});

describe('image handler: permanent failures', () => {
  it('publishes ImageFailed on the first attempt with the code and status, without retrying', async () => {
    const w = new World();
    w.fetchScript.push(failed('HTTP_NOT_FOUND', 'origin answered 404', { httpStatus: 404 }));
    const decision = await w.handler().handle(w.delivery());
    expect(decision).toEqual({ kind: 'done' });
    expect(w.fetched).toHaveLength(1);
    expect(w.objects.size).toBe(0);
    expect(w.published.map((p) => p.name)).toEqual(['ImageFailed']);
    expect(w.published[0]?.value).toMatchObject({
      requestId: 'req-1',
      imageId: 'img-1',
      serialNumber: 'SKU-7',
      failureCode: 'HTTP_NOT_FOUND',
      message: 'origin answered 404',
      httpStatus: 404,
      attempts: 1,
    });
    expect(w.outcomes).toEqual([['failed', 'HTTP_NOT_FOUND', undefined]]);
  });

  it.each([
    ['HTML', Buffer.from('<!doctype html><html>nope</html>'), 'HTML page'],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'SVG document'],
    ['empty', Buffer.alloc(0), 'empty'],
  ])('refuses %s by signature, before compressing', async (_label, body, hint) => {
    const w = new World().fetchOk(body);
    await w.handler().handle(w.delivery());
    expect(w.compressed).toHaveLength(0);
    expect(w.published[0]?.value).toMatchObject({
      failureCode: 'UNSUPPORTED_FORMAT',
      httpStatus: 200,
      attempts: 1,
    });
    expect((w.published[0]?.value as { message: string }).message).toContain(hint);
  });

  it('passes compressor failures through (e.g. too many pixels)', async () => {
    const w = new World().fetchOk();
    w.compressScript.push(failed('TOO_MANY_PIXELS', 'too big'));
    await w.handler().handle(w.delivery());
    expect(w.published[0]?.value).toMatchObject({
      failureCode: 'TOO_MANY_PIXELS',
      httpStatus: null,
    });
  });
});

describe('image handler: transient failures', () => {
  it('retries once in-process and succeeds', async () => {
    const w = new World();
    w.fetchScript.push(transient500());
    w.fetchOk().compressTo(100);
    const decision = await w.handler().handle(w.delivery());
    expect(decision).toEqual({ kind: 'done' });
    expect(w.sleeps).toEqual([250]);
    expect(w.published[0]).toMatchObject({ name: 'ImageCompressed', value: { attempts: 2 } });
  });

  it('hands a second transient failure to the delay tiers, publishing nothing', async () => {
    const w = new World();
    w.fetchScript.push(transient500(), transient500());
    const decision = await w.handler().handle(w.delivery());
    expect(decision).toEqual({
      kind: 'retry',
      reason: 'HTTP_SERVER_ERROR: origin answered 503',
    });
    expect(w.published).toHaveLength(0);
    expect(w.outcomes).toEqual([['retried', 'HTTP_SERVER_ERROR', undefined]]);
  });

  it('passes Retry-After on as the minimum delay', async () => {
    const w = new World();
    const tooMany = failed<FetchedImage>('HTTP_CLIENT_ERROR', '429', {
      transient: true,
      httpStatus: 429,
      retryAfterMs: 120_000,
    });
    w.fetchScript.push(tooMany, tooMany);
    await expect(w.handler().handle(w.delivery())).resolves.toMatchObject({
      kind: 'retry',
      afterMs: 120_000,
    });
  });

  it('treats a storage fault as transient', async () => {
    const w = new World().fetchOk().compressTo(100).fetchOk().compressTo(100);
    w.putFailures.push(new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'));
    const decision = await w.handler().handle(w.delivery());
    expect(decision).toMatchObject({ kind: 'retry' });
    expect((decision as { reason: string }).reason).toContain('Could not store');
  });

  it('makes one try per redelivery and counts attempts across deliveries (5 in all)', async () => {
    const w = new World();
    const handler = w.handler(4);
    w.fetchScript.push(transient500(), transient500());
    expect((await handler.handle(w.delivery(1))).kind).toBe('retry');
    for (const attempt of [2, 3]) {
      w.fetchScript.push(transient500());
      expect((await handler.handle(w.delivery(attempt))).kind).toBe('retry');
    }
    w.fetchScript.push(transient500());
    const last = w.delivery(4);
    expect((await handler.handle(last)).kind).toBe('retry');
    expect(w.fetched).toHaveLength(5);
    expect(w.published).toHaveLength(0);

    await handler.exhausted(last, 'HTTP_SERVER_ERROR: origin answered 503');
    expect(w.published).toHaveLength(1);
    expect(w.published[0]).toMatchObject({
      name: 'ImageFailed',
      value: {
        imageId: 'img-1',
        failureCode: 'RETRIES_EXHAUSTED',
        httpStatus: 503,
        attempts: 5,
      },
    });
    expect((w.published[0]?.value as { message: string }).message).toBe(
      'Gave up after 5 attempts; last error: HTTP_SERVER_ERROR: origin answered 503',
    );
    // Retried three times, failed once: the final delivery is not counted as a retry.
    expect(w.outcomes.map(([o]) => o)).toEqual(['retried', 'retried', 'retried', 'failed']);
  });

  it('success on a later delivery reports the attempts so far', async () => {
    const w = new World().fetchOk().compressTo(100);
    await w.handler().handle(w.delivery(3));
    expect(w.published[0]?.value).toMatchObject({ attempts: 4 });
  });

  it('exhaustion without a remembered failure (the handler threw) still publishes one final event', async () => {
    const w = new World();
    await w.handler().exhausted(w.delivery(4), 'Error: broker unavailable');
    expect(w.published[0]?.value).toMatchObject({
      failureCode: 'RETRIES_EXHAUSTED',
      httpStatus: null,
      attempts: 5,
      message: 'Gave up after 5 attempts; last error: Error: broker unavailable',
    });
  });
});

describe('image handler: faults and stopping', () => {
  it('rejects when the result cannot be published (so the offset is not committed)', async () => {
    const w = new World().fetchOk().compressTo(100);
    w.publishFailures.push(new Error('broker down'));
    await expect(w.handler().handle(w.delivery())).rejects.toThrow('broker down');
    expect(w.inFlight).toBe(0);
  });

  it('abandons the image when the consumer stops mid-way (nothing published)', async () => {
    const w = new World();
    const stop = new AbortController();
    w.fetchScript.push(ok({ bytes: JPEG, httpStatus: 200, finalUrl: 'x' }));
    w.compressScript.push(
      ok({
        output: { bytes: Buffer.alloc(10), format: 'jpeg', width: 1, height: 1 },
        input: { width: 1, height: 1 },
      }),
    );
    const delivery = w.delivery(1, request(), stop.signal);
    delivery.heartbeat = () => {
      stop.abort(new Error('stopping'));
      return Promise.resolve();
    };
    await expect(w.handler().handle(delivery)).rejects.toThrow('stopping');
    expect(w.published).toHaveLength(0);
  });
});
