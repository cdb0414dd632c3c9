/**
 * Issue 6, "Tests on the real engines": every result event delivered two or three times, three
 * aggregator instances in one consumer group and forced rebalances mid-stream → exactly one
 * completion record per request, one distinct completion id, counts equal to the truth.
 */
import { randomUUID } from 'node:crypto';
import type { Bus, CassandraClient } from '@imgpipe/platform';
import { completionIdFor, fixture, imageIdFor, type Envelope } from '@imgpipe/schemas';
import type { Aggregator, AggregatorTopics } from '../../src/app';
import { uniqueName, waitFor } from '../../../test/support/env';
import {
  completionsOn,
  dropKeyspace,
  migrateOnce,
  privateTopics,
  publish,
  readAll,
  startAggregator,
  storedOutcome,
  syntheticRequest,
  testBus,
  testCassandra,
  type TestEvent,
  type Truth,
} from '../support/harness';

let topics: AggregatorTopics;
let bus: Bus;
let cassandra: CassandraClient;
const running: Aggregator[] = [];

beforeAll(async () => {
  await migrateOnce();
  topics = await privateTopics(6);
  bus = testBus();
  cassandra = await testCassandra();
});

afterAll(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await bus?.close();
  await cassandra?.shutdown();
  await dropKeyspace();
});

/** Deterministic pseudo-random numbers, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every result two or three times, interleaved across requests; RequestAccepted mostly first. */
function deliveries(
  requests: ReturnType<typeof syntheticRequest>[],
  random: () => number,
): TestEvent[] {
  const queues = requests.map((r, k) => {
    const results = r.results.flatMap((e) =>
      Array.from({ length: 2 + Math.floor(random() * 2) }, () => e),
    );
    for (let i = results.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [results[i], results[j]] = [results[j]!, results[i]!];
    }
    // Every fifth request: some results race ahead of RequestAccepted (kept, applied later).
    const at = k % 5 === 0 ? Math.min(2, results.length) : 0;
    results.splice(at, 0, r.accepted, r.accepted);
    return results;
  });
  const out: TestEvent[] = [];
  while (queues.some((q) => q.length > 0)) {
    const q = queues[Math.floor(random() * queues.length)]!;
    const next = q.shift();
    if (next) out.push(next);
  }
  return out;
}

describe('exactly-once completion', () => {
  it('three instances, duplicated events and rebalances: one latch and one id per request, true counts', async () => {
    const random = prng(20260115);
    const requests = Array.from({ length: 24 }, (_, k) =>
      syntheticRequest(randomUUID(), 1 + (k % 4), 1 + (k % 3), (n) =>
        k % 6 === 5 ? true : (n + k) % 4 === 3,
      ),
    );
    const truths = new Map<string, Truth>(requests.map((r) => [r.truth.requestId, r.truth]));
    const events = deliveries(requests, random);
    const groupId = uniqueName('agg_eo');
    const options = {
      topics,
      groupId,
      env: { AGGREGATOR_SWEEP_INTERVAL_MS: '2000', AGGREGATOR_RECOVERY_GRACE_MS: '10000' },
    };
    const completed = async () => {
      let n = 0;
      for (const id of truths.keys()) if ((await storedOutcome(cassandra, id))?.published) n += 1;
      return n;
    };

    running.push(await startAggregator(options), await startAggregator(options));
    const third = Math.floor(events.length / 3);
    await publish(bus, topics.requestEvents, events.slice(0, third));
    await waitFor(async () => ((await completed()) > 0 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'a first completion',
    });

    // Rebalance 1: a third member joins while events are being applied.
    running.push(await startAggregator(options));
    await publish(bus, topics.requestEvents, events.slice(third, 2 * third));
    // Rebalance 2: a member leaves mid-stream; its partitions move to the others.
    await running.shift()!.stop();
    await publish(bus, topics.requestEvents, events.slice(2 * third));

    await waitFor(async () => ((await completed()) === truths.size ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: `all ${truths.size} requests completed`,
    });

    for (const truth of truths.values()) {
      const stored = (await storedOutcome(cassandra, truth.requestId))!;
      expect({ id: truth.requestId, ...stored }).toEqual({
        id: truth.requestId,
        completionId: completionIdFor(truth.requestId),
        status: truth.status,
        published: true,
        total: truth.total,
        compressed: truth.compressed,
        failed: truth.failed,
        bytesIn: truth.bytesIn,
        bytesOut: truth.bytesOut,
        rowStatus: truth.status,
        rowCompressed: truth.compressed,
        rowFailed: truth.failed,
      });
    }

    const published = await completionsOn(topics.requestsCompleted);
    const byRequest = new Map<string, typeof published>();
    for (const c of published)
      byRequest.set(c.requestId, [...(byRequest.get(c.requestId) ?? []), c]);
    expect([...byRequest.keys()].sort()).toEqual([...truths.keys()].sort());
    for (const [requestId, list] of byRequest) {
      const truth = truths.get(requestId)!;
      // No crash in this test: one message per request (duplicates are only allowed after a
      // crash between publish and the published flag, and would carry the same id).
      expect(list).toHaveLength(1);
      expect(new Set(list.map((c) => c.completionId))).toEqual(
        new Set([completionIdFor(requestId)]),
      );
      expect(list[0]).toMatchObject({
        status: truth.status,
        total: truth.total,
        compressed: truth.compressed,
        failed: truth.failed,
        bytesIn: truth.bytesIn,
        bytesOut: truth.bytesOut,
      });
    }
  });

  it('dead-letters an event that can never apply, with the reason, and goes on with the partition', async () => {
    const dlqTopics = await privateTopics(1);
    const request = syntheticRequest(randomUUID(), 1, 2);
    const bad: TestEvent = {
      name: 'ImageFailed',
      value: fixture('ImageFailed', {
        requestId: request.truth.requestId,
        imageId: imageIdFor(request.truth.requestId, 7, 0),
        productIndex: 7,
        imageIndex: 0,
      }),
    };
    await publish(bus, dlqTopics.requestEvents, [request.accepted, bad, ...request.results]);
    running.push(await startAggregator({ topics: dlqTopics, groupId: uniqueName('agg_dlq') }));
    await waitFor(
      async () =>
        (await storedOutcome(cassandra, request.truth.requestId))?.published ? true : undefined,
      { timeoutMs: 60_000, what: 'the request after the bad event' },
    );
    const dead = await readAll(dlqTopics.deadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.name).toBe('Envelope');
    const envelope = dead[0]!.value as Envelope;
    expect(envelope.reason).toBe(
      `ImageFailed.productIndex 7 is outside request ${request.truth.requestId}, which has 1 products`,
    );
    expect(await storedOutcome(cassandra, request.truth.requestId)).toMatchObject({
      total: 2,
      compressed: 2,
      failed: 0,
    });
  });
});
