/**
 * Faults while a 300-image request runs (issue 8): kill -9 one of two processors; restart the
 * aggregator; stop Kafka for 15 s and start it again. Each time the request completes with
 * every image exactly once in the output and exactly one webhook.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { down, runningPid, up, ENGINES } from '../../deploy/local/lib/launcher';
import { resolveProfile } from '../../deploy/local/lib/profile';
import { waitFor } from '../support/env';
import { allImages, csvOf, outputCsv, splitUrls, status, upload, waitDone } from './support/client';
import {
  startImageOrigin,
  startWebhookReceiver,
  type ImageOrigin,
  type WebhookReceiver,
} from './support/servers';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let origin: ImageOrigin;
let receiver: WebhookReceiver;

beforeAll(async () => {
  // A little latency per image keeps the request running long enough to be interrupted.
  [stack, origin, receiver] = await Promise.all([
    startStack({ processors: 2 }),
    startImageOrigin({ delayMs: 40 }),
    startWebhookReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), origin?.close(), receiver?.close()]);
});

const IMAGES = 300;

async function startRequest(tag: string): Promise<string> {
  const rows = Array.from({ length: IMAGES / 3 }, (_, i) => ({
    sn: i + 1,
    name: `${tag} product ${i + 1}`,
    urls: [0, 1, 2].map((j) =>
      origin.url(origin.names[(i + j) % origin.names.length]!, `${tag}-${i}-${j}`),
    ),
  }));
  const res = await upload(stack.baseUrl, csvOf(rows), {
    webhook_url: `${receiver.url}?tag=${tag}`,
  });
  expect(res.status).toBe(202);
  return res.body.request_id;
}

async function reachProgress(id: string, atLeast: number): Promise<void> {
  await waitFor(
    async () => {
      const s = await status(stack.baseUrl, id);
      const done = s.progress.compressed + s.progress.failed;
      return done >= atLeast && done < IMAGES ? true : undefined;
    },
    { what: `request ${id} to pass ${atLeast} images`, timeoutMs: 120_000, intervalMs: 50 },
  );
}

async function expectCompleteOnce(id: string, tag: string): Promise<void> {
  const { final } = await waitDone(stack.baseUrl, id, 300_000);
  expect(final.status).toBe('COMPLETED');
  expect(final.progress).toMatchObject({ total: IMAGES, compressed: IMAGES, failed: 0 });
  const images = (await allImages(stack.baseUrl, id)).flatMap((p) => p.images);
  expect(images).toHaveLength(IMAGES);
  const table = await outputCsv(stack.baseUrl, id);
  const outputs = table.slice(1).flatMap((r) => splitUrls(r[3]));
  expect(outputs).toHaveLength(IMAGES);
  expect(new Set(outputs).size).toBe(IMAGES);
  expect(outputs.every((u) => u.includes(`/images/${id}/`))).toBe(true);
  await waitFor(() => (receiver.deliveries.some((d) => d.body.includes(id)) ? true : undefined), {
    what: 'the webhook',
    timeoutMs: 60_000,
  });
  // Give a duplicate time to show up if there were one.
  await sleep(3_000);
  expect(receiver.deliveries.filter((d) => d.body.includes(id))).toHaveLength(1);
  expect(tag).toBeTruthy();
}

it('survives kill -9 of one of two processors', async () => {
  const id = await startRequest('kill');
  await reachProgress(id, 60);
  await stack.kill('processor-1', 'SIGKILL');
  await expectCompleteOnce(id, 'kill');
  await stack.restart('processor-1');
});

it('survives a restart of the aggregator', async () => {
  const id = await startRequest('restart');
  await reachProgress(id, 100);
  await stack.kill('aggregator', 'SIGTERM');
  await stack.restart('aggregator');
  await expectCompleteOnce(id, 'restart');
});

it('survives Kafka stopped for 15 s and started again', async () => {
  // Only engines this test run's launcher started can be stopped (never someone else's broker).
  const profile = { ...resolveProfile('test'), fresh: false };
  const kafka = ENGINES.find((e) => e.name === 'kafka')!;
  if (runningPid(profile, kafka) === undefined) {
    throw new Error(
      'This test stops and restarts Kafka, so it needs the test-profile Kafka the launcher started (unset KAFKA_BROKERS to let the global setup start it).',
    );
  }
  const id = await startRequest('kafka');
  await reachProgress(id, 60);
  await down(profile, ['kafka']);
  await sleep(15_000);
  await up(profile, () => undefined);
  await expectCompleteOnce(id, 'kafka');
});
