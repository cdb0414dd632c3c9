import { completionIdFor, fixture, imageIdFor } from '@imgpipe/schemas';
import {
  InMemoryOutput,
  InMemoryStore,
  ManualClock,
  RecordingPublisher,
  quietLogger,
} from '../testing/in-memory';
import { goldenEvents } from '../testing/golden-request';
import { InvalidEventError } from './errors';
import { createMaterializer, type RequestEvent } from './materializer';

const REQUEST = '3f9a1c2e-7b4d-4e8f-9a0b-1c2d3e4f5a6b';
const settings = {
  orphanTimeoutMs: 60_000,
  stallTimeoutMs: 3_600_000,
  recoveryGraceMs: 30_000,
  cacheMaxRequests: 1000,
  progressFlushMs: 0,
};

function setup(store = new InMemoryStore(), clock = new ManualClock(), overrides = {}) {
  const output = new InMemoryOutput();
  const publisher = new RecordingPublisher();
  const make = () =>
    createMaterializer({
      store,
      output,
      publisher,
      clock,
      urls: { publicBaseUrl: 'http://127.0.0.1:8080', outputPublicBaseUrl: null },
      logger: quietLogger,
      settings: { ...settings, ...overrides },
    });
  return { store, output, publisher, clock, materializer: make(), make };
}

const accepted = (images = 3, products = 2): RequestEvent => ({
  name: 'RequestAccepted',
  value: fixture('RequestAccepted', { requestId: REQUEST, images, products }),
});
const compressed = (productIndex: number, imageIndex: number, bytesIn = 1000): RequestEvent => ({
  name: 'ImageCompressed',
  value: fixture('ImageCompressed', {
    requestId: REQUEST,
    imageId: imageIdFor(REQUEST, productIndex, imageIndex),
    productIndex,
    imageIndex,
    bytesIn,
    bytesOut: bytesIn / 4,
    outputKey: `outputs/${REQUEST}/${productIndex + 1}-${imageIndex + 1}.jpg`,
  }),
});
const failed = (productIndex: number, imageIndex: number): RequestEvent => ({
  name: 'ImageFailed',
  value: fixture('ImageFailed', {
    requestId: REQUEST,
    imageId: imageIdFor(REQUEST, productIndex, imageIndex),
    productIndex,
    imageIndex,
  }),
});

/** Deterministic shuffle (so a failing order can be reproduced from the seed). */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('materializer', () => {
  it('completes a request once: CSV, latch, terminal row, one RequestCompleted', async () => {
    const { materializer, store, output, publisher } = setup();
    await materializer.apply(accepted());
    expect(store.requests.get(REQUEST)?.progress?.status).toBe('PENDING');
    await materializer.apply(compressed(0, 0, 1000));
    expect(store.requests.get(REQUEST)?.progress).toMatchObject({
      status: 'PROCESSING',
      counts: { total: 3, compressed: 1, failed: 0, pending: 2 },
    });
    await materializer.apply(failed(0, 1));
    expect(publisher.published).toHaveLength(0);
    await materializer.apply(compressed(1, 0, 2000));

    expect(publisher.published).toHaveLength(1);
    const event = publisher.published[0]!;
    expect(event).toMatchObject({
      requestId: REQUEST,
      completionId: completionIdFor(REQUEST),
      eventId: completionIdFor(REQUEST),
      status: 'COMPLETED_WITH_ERRORS',
      total: 3,
      compressed: 2,
      failed: 1,
      bytesIn: 3000,
      bytesOut: 750,
      outputCsvKey: `results/${REQUEST}.csv`,
      outputCsvUrl: `http://127.0.0.1:8080/requests/${REQUEST}/output.csv`,
      webhookUrl: 'https://hooks.example.com/imgpipe',
      webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    expect(store.completions.get(REQUEST)).toMatchObject({
      published: true,
      status: 'COMPLETED_WITH_ERRORS',
    });
    expect(store.requests.get(REQUEST)?.terminal?.completion.status).toBe('COMPLETED_WITH_ERRORS');
    expect(output.objects.has(`results/${REQUEST}.csv`)).toBe(true);
    expect(store.open.has(REQUEST)).toBe(false);
  });

  it('ends in the same state whatever the order and however often events are delivered', async () => {
    const events = [
      accepted(4, 2),
      compressed(0, 0, 10),
      failed(0, 1),
      compressed(1, 0, 20),
      compressed(1, 1, 40),
    ];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { materializer, store, publisher } = setup();
      const deliveries = shuffle(
        events.flatMap((e, i) => Array.from({ length: 1 + ((i + seed) % 3) }, () => e)),
        seed,
      );
      for (const event of deliveries) await materializer.apply(event);
      expect(publisher.published).toHaveLength(1);
      expect(publisher.published[0]).toMatchObject({
        total: 4,
        compressed: 3,
        failed: 1,
        bytesIn: 70,
      });
      expect(store.completions.size).toBe(1);
    }
  });

  it('keeps the first final result of an image (a later, different duplicate changes nothing)', async () => {
    const { materializer, store } = setup();
    await materializer.apply(accepted());
    expect(await materializer.apply(compressed(0, 0))).toBe('applied');
    expect(await materializer.apply(failed(0, 0))).toBe('duplicate');
    expect(store.images.get(REQUEST)?.get('0:0')?.status).toBe('COMPRESSED');
    expect(store.requests.get(REQUEST)?.progress?.counts).toMatchObject({
      compressed: 1,
      failed: 0,
    });
  });

  it('keeps results that arrive before RequestAccepted and applies them once it arrives', async () => {
    const { materializer, store, publisher } = setup();
    expect(await materializer.apply(compressed(0, 0))).toBe('orphan');
    expect(await materializer.apply(failed(0, 1))).toBe('orphan');
    expect(store.requests.has(REQUEST)).toBe(false);
    expect(store.open.get(REQUEST)).toMatchObject({ accepted: false });
    await materializer.apply(accepted(2, 1));
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]).toMatchObject({ status: 'COMPLETED_WITH_ERRORS', total: 2 });
  });

  it('ignores a result that raced ahead of RequestAccepted with a position outside the request', async () => {
    const { materializer, publisher, output } = setup();
    expect(await materializer.apply(compressed(5, 0))).toBe('orphan');
    await materializer.apply(accepted(1, 1));
    expect(publisher.published).toHaveLength(0);
    await materializer.apply(failed(0, 0));
    expect(publisher.published[0]).toMatchObject({
      status: 'FAILED',
      total: 1,
      compressed: 0,
      failed: 1,
    });
    const csv = output.objects.get(`results/${REQUEST}.csv`)!.toString('utf8');
    expect(csv.trimEnd().split('\r\n')).toHaveLength(2);
  });

  it('closes an orphan as FAILED with a clear reason after the orphan timeout', async () => {
    const { materializer, store, publisher, clock } = setup();
    await materializer.apply(compressed(0, 0));
    clock.advance(settings.orphanTimeoutMs - 1);
    expect((await materializer.sweep()).closedOrphans).toBe(0);
    clock.advance(1);
    expect(await materializer.sweep()).toMatchObject({ closedOrphans: 1 });
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]).toMatchObject({ status: 'FAILED', webhookUrl: null, total: 1 });
    expect(store.completions.get(REQUEST)?.failureReason).toMatch(
      /RequestAccepted never arrived within 1 min/,
    );
    expect(store.requests.get(REQUEST)?.terminal?.completion.status).toBe('FAILED');
    // RequestAccepted arriving later changes nothing and publishes nothing more.
    expect(await materializer.apply(accepted())).toBe('late');
    expect(publisher.published).toHaveLength(1);
  });

  it('closes a request that makes no progress for the stall timeout, keeping what finished', async () => {
    const { materializer, store, publisher, clock } = setup();
    await materializer.apply(accepted(3));
    await materializer.apply(compressed(0, 0));
    clock.advance(settings.stallTimeoutMs - 60_000);
    expect(await materializer.sweep()).toMatchObject({ closedStalled: 0 });
    clock.advance(60_000);
    expect(await materializer.sweep()).toMatchObject({ closedStalled: 1 });
    expect(publisher.published[0]).toMatchObject({
      status: 'FAILED',
      total: 3,
      compressed: 1,
      failed: 0,
    });
    expect(store.completions.get(REQUEST)?.failureReason).toBe(
      'No image finished for 1 h: 1 of 3 images were final when the request was closed',
    );
    // A result arriving after the close is late: the request stays as it was closed.
    expect(await materializer.apply(compressed(0, 1))).toBe('late');
    expect(publisher.published).toHaveLength(1);
  });

  it('re-publishes with the same id when the process failed between the latch and the publish', async () => {
    const { materializer, store, publisher } = setup();
    await materializer.apply(accepted(1, 1));
    publisher.failures = 1;
    await expect(materializer.apply(compressed(0, 0))).rejects.toThrow('injected publish failure');
    expect(store.completions.get(REQUEST)).toMatchObject({ published: false });
    // The uncommitted event is delivered again.
    await materializer.apply(compressed(0, 0));
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]!.completionId).toBe(completionIdFor(REQUEST));
    expect(store.completions.get(REQUEST)?.published).toBe(true);
    await materializer.apply(compressed(0, 0));
    expect(publisher.published).toHaveLength(1);
  });

  it('lets a sweep publish a recorded completion whose event was never redelivered', async () => {
    const { store, publisher, clock, make } = setup();
    await make().apply(accepted(1, 1));
    publisher.failures = 1;
    await expect(make().apply(compressed(0, 0))).rejects.toThrow();
    // A fresh instance (the crashed one is gone) sweeps after the grace period.
    const survivor = make();
    expect(await survivor.sweep()).toMatchObject({ recovered: 0 });
    clock.advance(settings.recoveryGraceMs);
    expect(await survivor.sweep()).toMatchObject({ recovered: 1 });
    expect(publisher.published).toHaveLength(1);
    expect(store.open.size).toBe(0);
  });

  it('does not double count when a write fails half-way and the event is applied again', async () => {
    const { materializer, store, publisher } = setup();
    await materializer.apply(accepted(2, 1));
    store.failNext('saveProgress');
    await expect(materializer.apply(compressed(0, 0, 100))).rejects.toThrow();
    await materializer.apply(compressed(0, 0, 100));
    await materializer.apply(compressed(0, 0, 100));
    expect(store.requests.get(REQUEST)?.progress?.counts).toMatchObject({
      compressed: 1,
      bytesIn: 100,
    });
    store.failNext('recordCompletion');
    await expect(materializer.apply(compressed(0, 1, 100))).rejects.toThrow();
    await materializer.apply(compressed(0, 1, 100));
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]).toMatchObject({ compressed: 2, bytesIn: 200 });
  });

  it('reloads a request whose partition moved to another instance and back', async () => {
    const { make, publisher } = setup();
    const a = make();
    const b = make();
    await a.apply(accepted(3), { partition: 'p/0', offset: 10n });
    await a.apply(compressed(0, 0), { partition: 'p/0', offset: 11n });
    // Rebalance: b owns the partition for a while.
    await b.apply(failed(0, 1), { partition: 'p/0', offset: 12n });
    // Back to a, which must not trust what it cached at offset 11.
    await a.apply(compressed(1, 0), { partition: 'p/0', offset: 13n });
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]).toMatchObject({ compressed: 2, failed: 1 });
  });

  it('coalesces progress writes within the flush period and writes the latest state', async () => {
    const { materializer, store, clock, publisher } = setup(undefined, undefined, {
      progressFlushMs: 60_000,
    });
    await materializer.apply(accepted(3));
    await materializer.apply(compressed(0, 0));
    await materializer.apply(failed(0, 1));
    // Both events are applied (their image rows are written); the request row waits.
    expect(store.images.get(REQUEST)?.size).toBe(2);
    expect(store.requests.get(REQUEST)?.progress?.status).toBe('PENDING');
    await materializer.flush();
    expect(store.requests.get(REQUEST)?.progress).toMatchObject({
      status: 'PROCESSING',
      counts: { compressed: 1, failed: 1, pending: 1 },
    });
    // After the period, the next event writes at once; completion writes the terminal row.
    clock.advance(60_000);
    await materializer.apply(compressed(1, 0));
    expect(publisher.published).toHaveLength(1);
    expect(store.requests.get(REQUEST)?.terminal?.completion.status).toBe('COMPLETED_WITH_ERRORS');
  });

  it('rewrites a request row left behind by a lost progress write when the state is reloaded', async () => {
    const store = new InMemoryStore();
    const first = setup(store, undefined, { progressFlushMs: 60_000 });
    await first.materializer.apply(accepted(3));
    await first.materializer.apply(compressed(0, 0));
    // The instance dies before its coalesced write: the row still says PENDING.
    first.materializer.forgetAll();
    expect(store.requests.get(REQUEST)?.progress?.status).toBe('PENDING');
    const second = setup(store);
    expect(await second.materializer.apply(compressed(0, 0))).toBe('duplicate');
    expect(store.requests.get(REQUEST)?.progress).toMatchObject({
      status: 'PROCESSING',
      counts: { compressed: 1 },
    });
  });

  it('completes at once a request with no images', async () => {
    const { materializer, publisher } = setup();
    await materializer.apply(accepted(0, 0));
    expect(publisher.published[0]).toMatchObject({ status: 'COMPLETED', total: 0 });
  });

  it('rejects events that can never apply, and changes nothing', async () => {
    const { materializer, store } = setup();
    await expect(
      materializer.apply({
        name: 'ImageFailed',
        value: fixture('ImageFailed', { requestId: 'not-a-uuid' }),
      }),
    ).rejects.toThrow(InvalidEventError);
    await expect(
      materializer.apply({
        name: 'ImageFailed',
        value: fixture('ImageFailed', { requestId: REQUEST, productIndex: -1 }),
      }),
    ).rejects.toThrow(/productIndex must be a non-negative integer, got -1/);
    await materializer.apply(accepted(3, 2));
    await expect(materializer.apply(compressed(2, 0))).rejects.toThrow(
      /productIndex 2 is outside request .* which has 2 products/,
    );
    expect(store.images.get(REQUEST)).toBeUndefined();
  });

  it('completes the golden request with the counts of its events', async () => {
    const { materializer, publisher } = setup();
    const events = goldenEvents(REQUEST);
    await materializer.apply({ name: 'RequestAccepted', value: events.accepted });
    for (const e of events.results) await materializer.apply(e);
    expect(publisher.published[0]).toMatchObject({
      status: 'COMPLETED_WITH_ERRORS',
      total: 12,
      failed: 2,
    });
  });
});
