/**
 * Downloader + sharp + S3, for real: the image handler with the production adapters against
 * local HTTP origins and the test S3. Results are collected in memory here (the Kafka path is
 * covered by processor.int.test.ts); what a user would see is checked in S3.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { createS3Client, parseAllowCidrs } from '@imgpipe/platform';
import type {
  CompressionOptions,
  ImageCompressed,
  ImageFailed,
  ImageRequested,
} from '@imgpipe/schemas';
import { testEnv } from '../../../test/support/env';
import { createHttpFetcher, type HttpFetcher } from '../../src/adapters/http-fetcher';
import { createS3Store } from '../../src/adapters/s3-store';
import { configureSharp, createSharpCompressor } from '../../src/adapters/sharp/compressor';
import { createImageHandler, type ImageHandler } from '../../src/domain/image-handler';
import { createImagePipeline } from '../../src/domain/pipeline';
import type { ImageResult, PipelineObserver } from '../../src/domain/ports';
import {
  alphaPng,
  exifRotatedJpeg,
  hasGpsPointer,
  html,
  photoJpeg,
  pngDeclaring,
  svg,
  truncatedJpeg,
} from './support/fixtures';
import {
  endless,
  flaky,
  redirect,
  serve,
  silent,
  startImageServer,
  status,
  type ImageServer,
} from './support/image-server';

const MiB = 1024 * 1024;
const env = testEnv();
const quietObserver: PipelineObserver = {
  stage: () => undefined,
  bytes: () => undefined,
  outcome: () => undefined,
  inFlight: () => undefined,
};

interface Rig {
  handler: ImageHandler;
  results: ImageResult[];
  fetcher: HttpFetcher;
}

function rig(s3: S3Client, allow: string, timeoutMs = 15_000): Rig {
  const results: ImageResult[] = [];
  const fetcher = createHttpFetcher({
    allow: parseAllowCidrs(allow),
    connectTimeoutMs: 5_000,
    totalTimeoutMs: timeoutMs,
    maxBytes: 25 * MiB,
    maxRedirects: 3,
  });
  const clock = {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    sleep: (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }),
  };
  const pipeline = createImagePipeline({
    fetcher,
    compressor: createSharpCompressor({ maxPixels: 50_000_000, timeoutMs: 10_000 }),
    store: createS3Store(s3, env.s3.S3_BUCKET),
    observer: quietObserver,
    clock,
    urls: { publicBaseUrl: 'http://127.0.0.1:8080' },
  });
  const handler = createImageHandler({
    pipeline,
    publisher: {
      publish: (r) => {
        results.push(r);
        return Promise.resolve();
      },
    },
    observer: quietObserver,
    clock,
    ids: { eventId: randomUUID },
    retry: { maxDeliveries: 4, quickRetryMs: 50 },
  });
  return { handler, results, fetcher };
}

describe('image pipeline with real HTTP, sharp and S3', () => {
  let origin: ImageServer;
  let s3: S3Client;
  let local: Rig;
  let strict: Rig;
  let quick: Rig;
  const requestId = randomUUID();
  let nextImage = 0;

  const requestFor = (
    path: string,
    options: Partial<CompressionOptions> = {},
    base?: string,
  ): ImageRequested => {
    const imageIndex = nextImage++;
    return {
      eventId: randomUUID(),
      occurredAt: Date.now(),
      requestId,
      imageId: randomUUID(),
      productIndex: 0,
      imageIndex,
      serialNumber: 'SN-1',
      productName: 'Test product',
      inputUrl: `${base ?? origin.url}${path}`,
      options: { quality: 50, format: 'keep', maxDimension: null, ...options },
    };
  };

  const run = async (r: Rig, request: ImageRequested, attempt = 1) => {
    const decision = await r.handler.handle({
      request,
      attempt,
      heartbeat: () => Promise.resolve(),
      signal: new AbortController().signal,
    });
    const result = r.results.find((x) => x.value.imageId === request.imageId);
    return { decision, result };
  };

  const compressed = (result: ImageResult | undefined): ImageCompressed => {
    expect(result?.name).toBe('ImageCompressed');
    return result!.value as ImageCompressed;
  };
  const failure = (result: ImageResult | undefined): ImageFailed => {
    expect(result?.name).toBe('ImageFailed');
    return result!.value as ImageFailed;
  };

  const getObject = async (key: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: env.s3.S3_BUCKET, Key: key }));
    return {
      bytes: Buffer.from(await res.Body!.transformToByteArray()),
      contentType: res.ContentType,
    };
  };

  beforeAll(async () => {
    configureSharp(1);
    origin = await startImageServer();
    s3 = createS3Client(env.s3);
    local = rig(s3, '127.0.0.0/8');
    strict = rig(s3, '');
    quick = rig(s3, '127.0.0.0/8', 500);
  });
  afterAll(async () => {
    await Promise.all([local.fetcher.close(), strict.fetcher.close(), quick.fetcher.close()]);
    await origin.close();
    s3.destroy();
  });

  it('stores a compressed JPEG under the deterministic key, with its Content-Type', async () => {
    const input = await photoJpeg(640, 480, 95);
    origin.route('/photo.jpg', serve(input, 'application/octet-stream'));
    const request = requestFor('/photo.jpg');
    const { decision, result } = await run(local, request);
    expect(decision).toEqual({ kind: 'done' });
    const event = compressed(result);
    const key = `outputs/${requestId}/1-${request.imageIndex + 1}.jpg`;
    expect(event).toMatchObject({
      requestId,
      imageId: request.imageId,
      productIndex: 0,
      imageIndex: request.imageIndex,
      serialNumber: 'SN-1',
      productName: 'Test product',
      inputUrl: request.inputUrl,
      bytesIn: input.length,
      width: 640,
      height: 480,
      format: 'jpeg',
      keptOriginal: false,
      outputKey: key,
      outputUrl: `http://127.0.0.1:8080/images/${requestId}/1/${request.imageIndex + 1}`,
      attempts: 1,
    });
    expect(event.bytesOut).toBeLessThan(input.length);
    const stored = await getObject(key);
    expect(stored.contentType).toBe('image/jpeg');
    expect(stored.bytes.length).toBe(event.bytesOut);
    expect((await sharp(stored.bytes).metadata()).format).toBe('jpeg');
  });

  it('stores an EXIF-rotated photo upright, without EXIF or GPS', async () => {
    origin.route('/rotated.jpg', serve(await exifRotatedJpeg()));
    const request = requestFor('/rotated.jpg', { quality: 30 });
    const event = compressed((await run(local, request)).result);
    expect([event.width, event.height]).toEqual([40, 80]);
    const stored = await getObject(event.outputKey);
    const meta = await sharp(stored.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([40, 80]);
    expect(meta.exif).toBeUndefined();
    expect(hasGpsPointer(meta.exif)).toBe(false);
  });

  it('writes WebP and AVIF outputs with matching keys and Content-Types', async () => {
    origin.route('/for-formats.png', serve(await alphaPng(), 'image/png'));
    for (const format of ['webp', 'avif'] as const) {
      const request = requestFor('/for-formats.png', { format });
      const event = compressed((await run(local, request)).result);
      expect(event.format).toBe(format);
      expect(event.outputKey).toBe(`outputs/${requestId}/1-${request.imageIndex + 1}.${format}`);
      const stored = await getObject(event.outputKey);
      expect(stored.contentType).toBe(`image/${format}`);
    }
  });

  it('applies max_dimension', async () => {
    origin.route('/big.jpg', serve(await photoJpeg(800, 600)));
    const event = compressed(
      (await run(local, requestFor('/big.jpg', { maxDimension: 200 }))).result,
    );
    expect([event.width, event.height]).toEqual([200, 150]);
    const meta = await sharp((await getObject(event.outputKey)).bytes).metadata();
    expect([meta.width, meta.height]).toEqual([200, 150]);
  });

  it('never stores a file larger than the input: keeps the original bytes then', async () => {
    // Already at quality 20: recompressing at 100 would grow it.
    const input = await photoJpeg(200, 150, 20);
    origin.route('/tiny.jpg', serve(input));
    const event = compressed((await run(local, requestFor('/tiny.jpg', { quality: 100 }))).result);
    expect(event).toMatchObject({
      keptOriginal: true,
      bytesIn: input.length,
      bytesOut: input.length,
    });
    expect((await getObject(event.outputKey)).bytes.equals(input)).toBe(true);
  });

  it('writes the same key on a replay (overwrite, no new object)', async () => {
    origin.route('/replay.jpg', serve(await photoJpeg(300, 200)));
    const request = requestFor('/replay.jpg');
    const first = compressed((await run(local, request)).result);
    local.results.length = 0;
    const second = compressed((await run(local, request)).result);
    expect(second.outputKey).toBe(first.outputKey);
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: env.s3.S3_BUCKET,
        Prefix: `outputs/${requestId}/1-${request.imageIndex + 1}.`,
      }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toEqual([first.outputKey]);
  });

  it('a 500 then success: the quick retry stores the image (2 attempts)', async () => {
    origin.route('/flaky.jpg', flaky(1, 500, await photoJpeg(120, 90)));
    const { decision, result } = await run(local, requestFor('/flaky.jpg'));
    expect(decision).toEqual({ kind: 'done' });
    expect(compressed(result).attempts).toBe(2);
  });

  it('persistent 5xx goes to the delay tiers, publishing nothing yet', async () => {
    origin.route('/down.jpg', status(503));
    const request = requestFor('/down.jpg');
    const { decision, result } = await run(local, request);
    expect(decision).toMatchObject({ kind: 'retry' });
    expect(result).toBeUndefined();
    await local.handler.exhausted(
      {
        request,
        attempt: 4,
        heartbeat: () => Promise.resolve(),
        signal: new AbortController().signal,
      },
      'HTTP_SERVER_ERROR: Origin answered 503',
    );
    expect(failure(local.results.find((r) => r.value.imageId === request.imageId))).toMatchObject({
      failureCode: 'RETRIES_EXHAUSTED',
      attempts: 5,
    });
  });

  describe('one real case per permanent failure code', () => {
    beforeAll(async () => {
      origin.route('/page.html', serve(html(), 'image/jpeg'));
      origin.route('/drawing.svg', serve(svg(), 'image/svg+xml'));
      origin.route('/truncated.jpg', serve(await truncatedJpeg()));
      origin.route('/bomb.png', serve(await pngDeclaring(20_000, 20_000), 'image/png'));
      origin.route('/forbidden.jpg', status(403));
      origin.route('/huge.jpg', endless(30 * MiB, { bytes: 0 }));
      origin.route('/hop1', redirect('/hop2'));
      origin.route('/hop2', redirect('/hop3'));
      origin.route('/hop3', redirect('/hop4'));
      origin.route('/hop4', redirect('/photo.jpg'));
      origin.route('/to-loopback', redirect(`http://127.0.0.1:${origin.port}/photo.jpg`));
      origin.route('/to-metadata', redirect('http://169.254.169.254/latest/meta-data/'));
    });

    it.each([
      ['404', '/nope.jpg', 'HTTP_NOT_FOUND', 404],
      ['403', '/forbidden.jpg', 'HTTP_CLIENT_ERROR', 403],
      ['an HTML page served as image/jpeg', '/page.html', 'UNSUPPORTED_FORMAT', 200],
      ['an SVG', '/drawing.svg', 'UNSUPPORTED_FORMAT', 200],
      ['a truncated JPEG', '/truncated.jpg', 'CORRUPT_IMAGE', null],
      ['a small PNG declaring 20000×20000', '/bomb.png', 'TOO_MANY_PIXELS', null],
      ['a 30 MiB body without Content-Length', '/huge.jpg', 'TOO_LARGE', null],
      ['4 redirects', '/hop1', 'TOO_MANY_REDIRECTS', 302],
    ])('%s (%s) → %s, final on the first attempt', async (_label, path, code, httpStatus) => {
      const request = requestFor(path);
      const { decision, result } = await run(local, request);
      expect(decision).toEqual({ kind: 'done' });
      expect(failure(result)).toMatchObject({
        requestId,
        imageId: request.imageId,
        serialNumber: 'SN-1',
        inputUrl: request.inputUrl,
        failureCode: code,
        httpStatus,
        attempts: 1,
      });
    });

    it.each([
      ['a redirect to 127.0.0.1', '/to-loopback'],
      ['a redirect to 169.254.169.254', '/to-metadata'],
    ])('%s with an empty allow-list → BLOCKED_ADDRESS', async (_label, path) => {
      // The first hop is on [::1], admitted alone, so only the redirect target is judged.
      const v6 = await startImageServer('::1');
      try {
        v6.route(
          path,
          redirect(
            path === '/to-loopback'
              ? `http://127.0.0.1:${origin.port}/photo.jpg`
              : 'http://169.254.169.254/latest/meta-data/',
          ),
        );
        const v6rig = rig(s3, '::1/128');
        const { result } = await run(v6rig, requestFor(path, {}, v6.url));
        expect(failure(result)).toMatchObject({ failureCode: 'BLOCKED_ADDRESS', attempts: 1 });
        await v6rig.fetcher.close();
      } finally {
        await v6.close();
      }
    });

    it('a loopback URL with an empty allow-list → BLOCKED_ADDRESS, origin never contacted', async () => {
      const before = origin.hits('/photo.jpg');
      const { result } = await run(strict, requestFor('/photo.jpg'));
      expect(failure(result)).toMatchObject({ failureCode: 'BLOCKED_ADDRESS', attempts: 1 });
      expect(origin.hits('/photo.jpg')).toBe(before);
    });

    it('an unknown host → DNS_FAILURE', async () => {
      const request = { ...requestFor('/x'), inputUrl: 'http://no-such-host.invalid/x.jpg' };
      expect(failure((await run(local, request)).result).failureCode).toBe('DNS_FAILURE');
    });
  });

  describe('transient codes (retried, then RETRIES_EXHAUSTED)', () => {
    it.each([
      ['a server that never answers', '/silent', 'TIMEOUT'],
      ['a 500', '/always-500', 'HTTP_SERVER_ERROR'],
      ['a 429', '/always-429', 'HTTP_CLIENT_ERROR'],
    ])('%s (%s) → retried with reason %s', async (_label, path, code) => {
      origin.route('/silent', silent());
      origin.route('/always-500', status(500));
      origin.route('/always-429', status(429));
      const { decision, result } = await run(quick, requestFor(path));
      expect(result).toBeUndefined();
      expect(decision).toMatchObject({ kind: 'retry' });
      expect((decision as { reason: string }).reason.startsWith(`${code}:`)).toBe(true);
    });

    it('a closed port → CONNECTION_FAILED (transient)', async () => {
      const closed = await startImageServer();
      const base = closed.url;
      await closed.close();
      const { decision } = await run(local, requestFor('/x.jpg', {}, base));
      expect((decision as { reason: string }).reason.startsWith('CONNECTION_FAILED:')).toBe(true);
    });
  });
});
