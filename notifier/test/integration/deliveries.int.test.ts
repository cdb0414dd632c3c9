/**
 * Webhook delivery on the real engines: Kafka (private topics), Cassandra, and a real HTTP
 * receiver on 127.0.0.1. Retry waits are 1 s (±20 %) so a whole sequence takes seconds.
 */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { CassandraClient } from '@imgpipe/platform';
import { createNotifier, type Notifier } from '../../src';
import { waitFor } from '../../../test/support/env';
import {
  cassandra,
  collectDeadLetters,
  completion,
  createPublisher,
  deliveryRows,
  deliveryRowsOnce,
  metricValue,
  notifierConfig,
  privateTopics,
  startReceiver,
  testLogger,
  type Receiver,
} from './support';

let notifier: Notifier;
let publisher: Awaited<ReturnType<typeof createPublisher>>;
let db: CassandraClient;
let dlq: Awaited<ReturnType<typeof collectDeadLetters>>;
const receivers: Receiver[] = [];

const receiver = async (...args: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
};

/** Verifies like a receiver would, with the verifier's clock at `atMs`. */
const verifyAt = (secret: string, body: string, headers: Record<string, string>, atMs: number) => {
  jest.useFakeTimers({
    now: atMs,
    doNotFake: [
      'nextTick',
      'setImmediate',
      'setTimeout',
      'setInterval',
      'clearTimeout',
      'clearInterval',
    ],
  });
  try {
    return new Webhook(secret).verify(body, headers);
  } finally {
    jest.useRealTimers();
  }
};

beforeAll(async () => {
  const prefix = await privateTopics();
  notifier = createNotifier(notifierConfig(prefix), { logger: testLogger() });
  await notifier.start();
  await waitFor(() => notifier.isReady() || undefined, {
    what: 'notifier ready',
    timeoutMs: 60_000,
  });
  publisher = await createPublisher(prefix);
  db = cassandra();
  await db.connect();
  dlq = await collectDeadLetters(prefix);
});

afterAll(async () => {
  await notifier?.stop();
  await publisher?.close();
  await dlq?.close();
  await db?.shutdown();
  await Promise.all(receivers.map((r) => r.close()));
});

describe('signed webhooks', () => {
  it('verify with standardwebhooks; a changed byte, a wrong secret or a 301 s replay do not', async () => {
    const hook = await receiver();
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    const [got] = await waitFor(
      () => (hook.for(event.completionId).length ? hook.for(event.completionId) : undefined),
      {
        what: 'the webhook',
      },
    );
    const { headers, body, at } = got!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['webhook-id']).toBe(event.completionId);
    expect(Math.abs(Number(headers['webhook-timestamp']) - at / 1000)).toBeLessThan(5);

    expect(verifyAt(event.webhookSecret!, body, headers, at)).toEqual({
      type: 'request.completed',
      timestamp: new Date(event.completedAt).toISOString(),
      data: {
        request_id: event.requestId,
        status: event.status,
        progress: { total: 3, compressed: 2, failed: 1, pending: 0, percent: 100 },
        output_csv_url: event.outputCsvUrl,
        completed_at: new Date(event.completedAt).toISOString(),
      },
    });
    const flipped = body.slice(0, 10) + (body[10] === 'a' ? 'b' : 'a') + body.slice(11);
    expect(() => verifyAt(event.webhookSecret!, flipped, headers, at)).toThrow(
      'No matching signature found',
    );
    expect(() => verifyAt('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', body, headers, at)).toThrow(
      'No matching signature found',
    );
    expect(() => verifyAt(event.webhookSecret!, body, headers, at + 301_000)).toThrow(
      'Message timestamp too old',
    );
    expect(() => verifyAt(event.webhookSecret!, body, headers, at - 301_000)).toThrow(
      'Message timestamp too new',
    );

    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the delivery row',
    });
    expect(rows).toEqual([
      expect.objectContaining({
        target: 'request',
        attempt: 1,
        state: 'SUCCEEDED',
        status_code: 200,
        error: null,
      }),
    ]);
  });
});

describe('retries', () => {
  it('500 three times then 200: four attempts, one webhook-id, each attempt recorded', async () => {
    const hook = await receiver((n) => ({ status: n <= 3 ? 500 : 200 }));
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the fourth attempt to succeed',
      timeoutMs: 60_000,
    });

    const got = hook.for(event.completionId);
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.completionId]));
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    for (const r of got)
      expect(() => verifyAt(event.webhookSecret!, r.body, r.headers, r.at)).not.toThrow();
    expect(rows.map((r) => [r.attempt, r.state, r.status_code])).toEqual([
      [1, 'RETRYING', 500],
      [2, 'RETRYING', 500],
      [3, 'RETRYING', 500],
      [4, 'SUCCEEDED', 200],
    ]);
    for (const r of rows.slice(0, 3)) expect(r.next_attempt_at).not.toBeNull();
    // Waits follow the schedule: 1 s ± 20 % between attempts (never earlier than 0.8 s).
    for (let i = 1; i < got.length; i++)
      expect(got[i]!.at - got[i - 1]!.at).toBeGreaterThanOrEqual(750);
  });

  it('a receiver that hangs 20 s is recorded as a timeout and retried', async () => {
    const hook = await receiver((n) =>
      n === 1 ? { status: 200, hangMs: 20_000 } : { status: 200 },
    );
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the retry after the timeout',
      timeoutMs: 60_000,
    });
    expect(rows.map((r) => [r.attempt, r.state, r.status_code])).toEqual([
      [1, 'RETRYING', null],
      [2, 'SUCCEEDED', 200],
    ]);
    expect(rows[0]!.error).toBe('no complete response within 15000 ms');
    expect(rows[0]!.latency_ms).toBeGreaterThanOrEqual(15_000);
    expect(
      await metricValue(notifier.registry, 'imgpipe_webhook_attempts_total', {
        outcome: 'timeout',
      }),
    ).toBe(1);
  });

  it('429 with Retry-After: the next attempt waits at least that long', async () => {
    const hook = await receiver((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    await waitFor(() => (hook.for(event.completionId).length === 2 ? true : undefined), {
      what: 'the second attempt',
    });
    const [first, second] = hook.for(event.completionId);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
  });

  it('a redirect is a failure and is not followed', async () => {
    const target = await receiver();
    const hook = await receiver((n) =>
      n === 1 ? { status: 302, headers: { location: target.url('/elsewhere') } } : { status: 204 },
    );
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the retry after the redirect',
    });
    expect(rows.map((r) => [r.attempt, r.state, r.status_code])).toEqual([
      [1, 'RETRYING', 302],
      [2, 'SUCCEEDED', 204],
    ]);
    expect(target.for(event.completionId)).toHaveLength(0);
  });

  it('after the last attempt: FAILED, a dead letter and the exhausted metric', async () => {
    const before = await metricValue(notifier.registry, 'imgpipe_webhook_exhausted_total');
    const hook = await receiver(() => ({ status: 503 }));
    const event = completion({ webhookUrl: hook.url() });
    await publisher.publish(event);
    const letter = await waitFor(() => dlq.letters.find((l) => l.key === event.requestId), {
      what: 'the dead letter',
      timeoutMs: 60_000,
    });
    expect(letter.reason).toMatch(/request \(HTTP 503; gave up after 4 attempts\)/);
    expect(letter.attempt).toBe(4);
    expect(hook.for(event.completionId)).toHaveLength(4);
    const rows = await deliveryRows(db, event.requestId);
    expect(rows.filter((r) => r.target === 'request').map((r) => r.state)).toEqual([
      'RETRYING',
      'RETRYING',
      'RETRYING',
      'FAILED',
    ]);
    const failedTargets = new Set(rows.filter((r) => r.state === 'FAILED').map((r) => r.target))
      .size;
    expect(await metricValue(notifier.registry, 'imgpipe_webhook_exhausted_total')).toBe(
      before + failedTargets,
    );
  });

  it('a private address is refused before any byte is sent, without retries', async () => {
    const event = completion({ webhookUrl: 'http://10.255.255.1:9/hook' });
    await publisher.publish(event);
    const letter = await waitFor(() => dlq.letters.find((l) => l.key === event.requestId), {
      what: 'the dead letter',
    });
    expect(letter.attempt).toBe(1);
    const rows = await deliveryRows(db, event.requestId);
    expect(rows).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'FAILED',
        error: expect.stringMatching(/10\.255\.255\.1 is not allowed \(private\)/) as unknown,
      }),
    ]);
  });
});

describe('exactly one sequence per completion', () => {
  it('duplicate RequestCompleted events start one delivery sequence', async () => {
    const hook = await receiver((n) => ({ status: n === 1 ? 500 : 200 }));
    const event = completion({ webhookUrl: hook.url() });
    const before = await metricValue(notifier.registry, 'imgpipe_notification_duplicates_total');
    await publisher.publish(event, event, { ...event, eventId: randomUUID() });
    await waitFor(
      async () => {
        const n = await metricValue(notifier.registry, 'imgpipe_notification_duplicates_total');
        return n >= before + 2 ? n : undefined;
      },
      { what: 'both duplicates to be handled' },
    );
    const rows = await deliveryRowsOnce(db, event.requestId, 'SUCCEEDED', {
      what: 'the sequence to finish',
    });
    expect(rows.map((r) => [r.attempt, r.state])).toEqual([
      [1, 'RETRYING'],
      [2, 'SUCCEEDED'],
    ]);
    expect(hook.for(event.completionId)).toHaveLength(2);
  });
});
