/**
 * Killing a processor mid-stream loses no image (issue 5, Tests): a real processor process is
 * SIGKILLed while images are in flight; a second one in the same group takes over, and every
 * ImageRequested still ends with a result event (duplicates allowed, losses not). The second
 * process then stops gracefully on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@imgpipe/platform';
import type { ImageCompressed } from '@imgpipe/schemas';
import { testEnv, uniqueName } from '../../../test/support/env';
import type { ProcessorTopics } from '../../src/app';
import { photoJpeg } from './support/fixtures';
import { Collector, imagesFor, privateProcessorTopics, publishRequests } from './support/kafka-rig';
import { startImageServer, type ImageServer } from './support/image-server';

const env = testEnv();
const CHILD = path.join(__dirname, 'support', 'processor-child.ts');
const IMAGES = 24;

interface Child {
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function startChild(topics: ProcessorTopics, groupId: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', CHILD], {
    cwd: path.resolve(__dirname, '../../..'),
    env: {
      ...process.env,
      IT_PROCESSOR_TOPICS: JSON.stringify(topics),
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      FETCH_ALLOW_CIDRS: '127.0.0.0/8',
      PROCESSOR_GROUP_ID: groupId,
      PROCESSOR_CONCURRENCY: '2',
      // The broker's minimum: a killed member's partitions move after ~6 s, not 30.
      PROCESSOR_SESSION_TIMEOUT_MS: '6000',
      IMAGE_RETRY_DELAYS_MS: '500,500,500',
      IMAGE_QUICK_RETRY_MS: '50',
      SHUTDOWN_GRACE_MS: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output.push(chunk);
      if (chunk.includes('ready ')) resolve({ proc, output, exited });
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
    proc.once('exit', (code) =>
      reject(new Error(`processor child exited (${code}) before ready:\n${output.join('')}`)),
    );
  });
}

describe('processor crash', () => {
  let origin: ImageServer;
  let collector: Collector;
  const children: Child[] = [];
  const s3 = createS3Client(env.s3);

  beforeAll(async () => {
    origin = await startImageServer();
    collector = new Collector(env.kafka);
  });
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    await collector.close();
    await origin.close();
    s3.destroy();
  });

  it('a SIGKILL mid-stream loses no image; the next process finishes the rest', async () => {
    const topics = await privateProcessorTopics(env.kafka);
    await collector.listen([topics.requestEvents]);
    const photo = await photoJpeg(400, 300);
    // Slow origin: each download takes ~300 ms, so images are in flight when the kill lands.
    origin.route('/slow.jpg', (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length });
        res.end(photo);
      }, 300);
    });
    const urls = Array.from({ length: IMAGES }, (_, i) => `${origin.url}/slow.jpg?i=${i}`);
    const requests = imagesFor(urls);
    await publishRequests(env.kafka, topics.imagesRequested, requests);

    const groupId = uniqueName('it_crash');
    const first = await startChild(topics, groupId);
    children.push(first);
    // Kill when some results are out AND more downloads were started than results published:
    // images are in flight at the moment of the kill.
    await collector.until(
      (r) => r.length >= 4 && origin.hits('/slow.jpg') > r.length,
      'the first process to be mid-stream',
      60_000,
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    const beforeTakeover = collector.received.length;
    expect(beforeTakeover).toBeLessThan(IMAGES);

    const second = await startChild(topics, groupId);
    children.push(second);
    const ids = new Set(requests.map((r) => r.imageId));
    const finished = () =>
      new Set(
        collector.received
          .map((r) => r.event)
          .filter((e) => e.name === 'ImageCompressed' || e.name === 'ImageFailed')
          .map((e) => (e.value as { imageId: string }).imageId)
          .filter((id) => ids.has(id)),
      );
    await collector.until(
      () => finished().size === IMAGES,
      'a result for every image after the takeover',
      90_000,
    );

    // Every image compressed (none lost, none failed), its object in S3.
    const compressed = collector.received
      .filter((r) => r.event.name === 'ImageCompressed')
      .map((r) => r.event.value as ImageCompressed);
    expect(new Set(compressed.map((c) => c.imageId))).toEqual(ids);
    expect(collector.received.length).toBeGreaterThan(beforeTakeover);
    await Promise.all(
      requests.map((r) =>
        s3.send(
          new HeadObjectCommand({
            Bucket: env.s3.S3_BUCKET,
            Key: `outputs/${r.requestId}/1-${r.imageIndex + 1}.jpg`,
          }),
        ),
      ),
    );

    // The survivor stops gracefully on SIGTERM.
    second.proc.kill('SIGTERM');
    await expect(second.exited).resolves.toBe(0);
  });
});

describe('processor main.ts', () => {
  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const main = path.resolve(__dirname, '../../src/main.ts');
    const proc = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main], {
      cwd: path.resolve(__dirname, '../../..'),
      env: {
        ...process.env,
        FETCH_ALLOW_CIDRS: '127.0.0.0/8,intranet',
        PROCESSOR_CONCURRENCY: 'lots',
        IMAGE_RETRY_DELAYS_MS: '1000,2000,3000,4000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('FETCH_ALLOW_CIDRS');
    expect(stderr).toContain('"intranet"');
    expect(stderr).toContain('PROCESSOR_CONCURRENCY');
    expect(stderr).toContain('IMAGE_RETRY_DELAYS_MS');
  });
});
