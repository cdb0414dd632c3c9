/**
 * Issue 6: Cassandra unavailable for 20 s mid-stream, then back → the aggregator resumes and
 * loses nothing. The shared test Cassandra keeps running (other suites use it): the outage is
 * made at the network level by a TCP proxy between this aggregator and Cassandra, which resets
 * every connection and refuses new ones for 20 s.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, CassandraClient } from '@imgpipe/platform';
import { completionIdFor } from '@imgpipe/schemas';
import type { Aggregator, AggregatorTopics } from '../../src/app';
import { uniqueName, waitFor } from '../../../test/support/env';
import {
  completionsOn,
  env,
  dropKeyspace,
  migrateOnce,
  privateTopics,
  publish,
  startAggregator,
  storedOutcome,
  syntheticRequest,
  testBus,
  testCassandra,
  type Truth,
} from '../support/harness';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const OUTAGE_MS = 20_000;

let topics: AggregatorTopics;
let bus: Bus;
let cassandra: CassandraClient;
let proxy: TcpProxy;
let aggregator: Aggregator | undefined;

beforeAll(async () => {
  await migrateOnce();
  topics = await privateTopics(4);
  bus = testBus();
  cassandra = await testCassandra();
  const [host, port] = env.cassandra.CASSANDRA_CONTACT_POINTS[0]!.split(':');
  proxy = await startTcpProxy(host!, Number(port ?? 9042));
});

afterAll(async () => {
  await aggregator?.stop();
  await proxy?.close();
  await bus?.close();
  await cassandra?.shutdown();
  await dropKeyspace();
});

describe('Cassandra outage', () => {
  it('resumes after 20 s without Cassandra and loses nothing', async () => {
    const requests = Array.from({ length: 16 }, (_, k) =>
      syntheticRequest(randomUUID(), 2, 2, (n) => (n + k) % 5 === 0),
    );
    const truths = new Map<string, Truth>(requests.map((r) => [r.truth.requestId, r.truth]));
    const before = requests.slice(0, 8);
    const during = requests.slice(8);
    aggregator = await startAggregator({
      topics,
      groupId: uniqueName('agg_outage'),
      env: {
        CASSANDRA_CONTACT_POINTS: `127.0.0.1:${proxy.port}`,
        AGGREGATOR_SWEEP_INTERVAL_MS: '2000',
      },
    });
    const completed = async (list: typeof requests) => {
      let n = 0;
      for (const r of list)
        if ((await storedOutcome(cassandra, r.truth.requestId))?.published) n += 1;
      return n;
    };

    await publish(
      bus,
      topics.requestEvents,
      before.flatMap((r) => [r.accepted, ...r.results]),
    );
    await waitFor(async () => ((await completed(before)) === before.length ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the first requests completed',
    });

    proxy.cut();
    // Events keep coming while Cassandra is unreachable: half of each new request's results,
    // then (still during the outage) the rest.
    await publish(
      bus,
      topics.requestEvents,
      during.flatMap((r) => [r.accepted, ...r.results.slice(0, 2)]),
    );
    await publish(
      bus,
      topics.requestEvents,
      during.flatMap((r) => r.results.slice(2)),
    );
    // Users asking meanwhile get a 503 with Retry-After, not a wrong answer or a 404.
    const answer = await fetch(`${aggregator.url()}/status/${before[0]!.truth.requestId}`);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(await answer.json()).toMatchObject({ error: { code: 'ERR_UNAVAILABLE' } });
    // The outage's length is the scenario itself (not a wait for a condition).
    await sleep(OUTAGE_MS);
    expect(await completed(during)).toBe(0);
    proxy.restore();

    await waitFor(async () => ((await completed(during)) === during.length ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'every request completed after the outage',
    });
    for (const truth of truths.values()) {
      expect(await storedOutcome(cassandra, truth.requestId)).toMatchObject({
        completionId: completionIdFor(truth.requestId),
        status: truth.status,
        total: truth.total,
        compressed: truth.compressed,
        failed: truth.failed,
        bytesIn: truth.bytesIn,
        rowCompressed: truth.compressed,
        rowFailed: truth.failed,
      });
    }
    const published = await completionsOn(topics.requestsCompleted);
    expect(published.map((c) => c.requestId).sort()).toEqual([...truths.keys()].sort());
    const ok = await fetch(`${aggregator.url()}/status/${during[0]!.truth.requestId}`);
    expect(ok.status).toBe(200);
  });
});
