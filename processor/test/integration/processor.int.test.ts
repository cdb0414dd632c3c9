/**
 * The processor app end to end through Kafka (private topics): ImageRequested in →
 * ImageCompressed / ImageFailed out (keyed by requestId), objects in S3, retries through the
 * delay tiers with a dead-letter copy on exhaustion, exactly one final event per image, the
 * ops endpoints, and a graceful stop.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { createS3Client, silentLogger } from '@imgpipe/platform';
import type { Envelope, ImageCompressed, ImageFailed } from '@imgpipe/schemas';
import { decodeEvent } from '@imgpipe/schemas';
import { testEnv, uniqueName } from '../../../test/support/env';
import { createProcessor, type Processor, type ProcessorTopics } from '../../src/app';
import { loadConfig } from '../../src/config';
import { photoJpeg } from './support/fixtures';
import {
  Collector,
  imagesFor,
  messageCount,
  privateProcessorTopics,
  publishRequests,
} from './support/kafka-rig';
import { flaky, serve, startImageServer, status, type ImageServer } from './support/image-server';

const env = testEnv();

describe('processor through Kafka', () => {
  let topics: ProcessorTopics;
  let origin: ImageServer;
  let processor: Processor;
  let collector: Collector;
  const s3 = createS3Client(env.s3);

  beforeAll(async () => {
    topics = await privateProcessorTopics(env.kafka);
    origin = await startImageServer();
    collector = new Collector(env.kafka);
    await collector.listen([topics.requestEvents, topics.imagesDlq]);
    const config = loadConfig({
      ...process.env,
      HTTP_PORT: '0',
      FETCH_ALLOW_CIDRS: '127.0.0.0/8',
      PROCESSOR_GROUP_ID: uniqueName('it_processor'),
      PROCESSOR_CONCURRENCY: '2',
      IMAGE_RETRY_DELAYS_MS: '300,300,300',
      IMAGE_QUICK_RETRY_MS: '50',
      FETCH_TIMEOUT_MS: '2000',
      PUBLIC_BASE_URL: 'http://edge.test:8080',
    });
    processor = createProcessor(config, { logger: silentLogger(), topics });
    await processor.start();
  });
  afterAll(async () => {
    await processor.stop();
    await collector.close();
    await origin.close();
    s3.destroy();
  });

  it('turns every ImageRequested into exactly one final result, retrying the transient ones', async () => {
    const photo = await photoJpeg(480, 360);
    origin.route('/ok.jpg', serve(photo));
    origin.route('/gone.jpg', status(404));
    origin.route('/down.jpg', status(503));
    origin.route('/flaky.jpg', flaky(3, 500, photo));
    const urls = [
      `${origin.url}/ok.jpg`,
      `${origin.url}/gone.jpg`,
      `${origin.url}/down.jpg`,
      `${origin.url}/flaky.jpg`,
      'http://169.254.169.254/latest/meta-data/iam/',
    ];
    const requests = imagesFor(urls, { format: 'webp' });
    const requestId = requests[0]!.requestId;
    await publishRequests(env.kafka, topics.imagesRequested, requests);

    const results = () =>
      collector.received.filter(
        (r) =>
          r.topic === topics.requestEvents.name &&
          (r.event.value as { requestId?: string }).requestId === requestId,
      );
    await collector.until(
      () => results().length >= requests.length,
      `one result per image of ${requestId}`,
    );
    await collector.until(
      (all) => all.some((r) => r.topic === topics.imagesDlq.name),
      'the dead-letter copy of the exhausted image',
    );

    // Keyed by requestId, each image once, every ImageRef field echoed.
    const byImage = new Map(
      results().map((r) => [(r.event.value as { imageId: string }).imageId, r]),
    );
    expect(byImage.size).toBe(requests.length);
    for (const r of results()) expect(r.key).toBe(requestId);
    for (const req of requests) {
      expect(byImage.get(req.imageId)?.event.value).toMatchObject({
        requestId,
        imageId: req.imageId,
        productIndex: req.productIndex,
        imageIndex: req.imageIndex,
        serialNumber: req.serialNumber,
        productName: req.productName,
        inputUrl: req.inputUrl,
      });
    }
    const pick = (i: number) => byImage.get(requests[i]!.imageId)!;
    const [ok, gone, down, flakyImage, blocked] = [pick(0), pick(1), pick(2), pick(3), pick(4)];

    expect(ok.event.name).toBe('ImageCompressed');
    const okEvent = ok.event.value as ImageCompressed;
    expect(okEvent).toMatchObject({
      format: 'webp',
      width: 480,
      height: 360,
      attempts: 1,
      keptOriginal: false,
      bytesIn: photo.length,
      outputKey: `outputs/${requestId}/1-1.webp`,
      outputUrl: `http://edge.test:8080/images/${requestId}/1/1`,
    });
    const object = await s3.send(
      new GetObjectCommand({ Bucket: env.s3.S3_BUCKET, Key: okEvent.outputKey }),
    );
    expect(object.ContentType).toBe('image/webp');
    const stored = Buffer.from(await object.Body!.transformToByteArray());
    expect(stored.length).toBe(okEvent.bytesOut);
    expect((await sharp(stored).metadata()).format).toBe('webp');

    expect(gone.event.value as ImageFailed).toMatchObject({
      failureCode: 'HTTP_NOT_FOUND',
      httpStatus: 404,
      attempts: 1,
    });
    expect(down.event.name).toBe('ImageFailed');
    expect(down.event.value as ImageFailed).toMatchObject({
      failureCode: 'RETRIES_EXHAUSTED',
      httpStatus: 503,
      attempts: 5,
    });
    expect((down.event.value as ImageFailed).message).toContain('HTTP_SERVER_ERROR');
    expect(origin.hits('/down.jpg')).toBe(5);
    expect(flakyImage.event.value as ImageCompressed).toMatchObject({
      attempts: 4,
      format: 'webp',
    });
    expect(blocked.event.value as ImageFailed).toMatchObject({
      failureCode: 'BLOCKED_ADDRESS',
      attempts: 1,
    });

    // The dead letter is the exhausted image's original message.
    const dead = collector.received.filter((r) => r.topic === topics.imagesDlq.name);
    expect(dead).toHaveLength(1);
    const envelope = dead[0]!.event.value as Envelope;
    expect(envelope.originalTopic).toBe(topics.imagesRequested.name);
    const original = decodeEvent(envelope.payload, envelope.headers);
    expect(original).toMatchObject({
      name: 'ImageRequested',
      value: { imageId: requests[2]!.imageId },
    });

    // Nothing else was ever published: exactly one final event per image.
    expect(await messageCount(env.kafka, topics.requestEvents.name)).toBe(requests.length);
  });

  it('serves /healthz, /readyz and the processor metrics', async () => {
    const base = `http://127.0.0.1:${processor.port()}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /imgpipe_images_processed_total\{[^}]*outcome="compressed"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /imgpipe_images_processed_total\{[^}]*outcome="failed",failure_code="RETRIES_EXHAUSTED"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/imgpipe_images_processed_total\{[^}]*outcome="retried"/);
    expect(metrics).toMatch(/imgpipe_image_input_bytes_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/imgpipe_image_output_bytes_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/imgpipe_image_stage_duration_seconds_count\{[^}]*stage="compress"/);
    expect(metrics).toMatch(/imgpipe_images_in_flight\{[^}]*\} 0/);
    expect(metrics).not.toMatch(/requestId|request_id|127\.0\.0\.1/);
  });
});
