/**
 * Issue 6: a crash (process killed, no shutdown) after the Cassandra writes and before the
 * offset commit must not double count; a crash between the completion latch and the publish
 * must still publish the completion, once.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Bus, CassandraClient } from '@imgpipe/platform';
import { completionIdFor } from '@imgpipe/schemas';
import type { Aggregator, AggregatorTopics } from '../../src/app';
import { uniqueName, waitFor } from '../../../test/support/env';
import {
  completionsOn,
  dropKeyspace,
  keyspace,
  migrateOnce,
  privateTopics,
  publish,
  startAggregator,
  storedOutcome,
  syntheticRequest,
  testBus,
  testCassandra,
} from '../support/harness';

const repoDir = path.resolve(__dirname, '..', '..', '..');
const SESSION = { AGGREGATOR_SESSION_TIMEOUT_MS: '6000' };

let bus: Bus;
let cassandra: CassandraClient;
const running: Aggregator[] = [];

beforeAll(async () => {
  await migrateOnce();
  bus = testBus();
  cassandra = await testCassandra();
});

afterAll(async () => {
  await Promise.all(running.map((a) => a.stop()));
  await bus?.close();
  await cassandra?.shutdown();
  await dropKeyspace();
});

/** Runs crash-child.ts in its own process group until it kills itself; returns its output. */
async function crashChild(
  topics: AggregatorTopics,
  groupId: string,
  point: string,
): Promise<string> {
  const child = spawn(
    'npx',
    ['tsx', '--conditions=development', 'aggregator/test/support/crash-child.ts'],
    {
      cwd: repoDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...SESSION,
        AGG_TEST_TOPICS: JSON.stringify(topics),
        AGG_CRASH_POINT: point,
        AGG_TEST_KEYSPACE: keyspace,
        AGGREGATOR_GROUP_ID: groupId,
      },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const guard = setTimeout(() => {
    // Never crashed: end the whole group this test started (npx → tsx → node).
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, 90_000);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  clearTimeout(guard);
  return output;
}

describe('crashes', () => {
  it('a crash after the Cassandra writes and before the offset commit does not double count', async () => {
    const topics = await privateTopics(3);
    const groupId = uniqueName('agg_crash');
    const request = syntheticRequest(randomUUID(), 2, 3, (n) => n === 4);
    await publish(bus, topics.requestEvents, [request.accepted, ...request.results]);

    const output = await crashChild(topics, groupId, 'writes:4');
    expect(output).toContain('CRASHING writes:4');
    // The child died with four results written and the request not complete.
    const rows = await cassandra.execute(
      'SELECT status FROM images_by_request WHERE request_id = ?',
      [request.truth.requestId],
      { prepare: true },
    );
    expect(rows.rows).toHaveLength(4);
    expect(await storedOutcome(cassandra, request.truth.requestId)).toBeUndefined();

    // The survivor gets the uncommitted events again and applies them over what is written.
    running.push(await startAggregator({ topics, groupId, sweep: false, env: SESSION }));
    const stored = await waitFor(
      async () => {
        const s = await storedOutcome(cassandra, request.truth.requestId);
        return s?.published ? s : undefined;
      },
      { timeoutMs: 60_000, what: 'the completion after the crash' },
    );
    const { truth } = request;
    expect(stored).toEqual({
      completionId: completionIdFor(truth.requestId),
      status: 'COMPLETED_WITH_ERRORS',
      published: true,
      total: 6,
      compressed: 5,
      failed: 1,
      bytesIn: truth.bytesIn,
      bytesOut: truth.bytesOut,
      rowStatus: 'COMPLETED_WITH_ERRORS',
      rowCompressed: 5,
      rowFailed: 1,
    });
    const published = await completionsOn(topics.requestsCompleted);
    expect(published.map((c) => [c.completionId, c.compressed, c.failed, c.bytesIn])).toEqual([
      [completionIdFor(truth.requestId), 5, 1, truth.bytesIn],
    ]);
  });

  it('a crash between the completion latch and the publish still publishes it, once, with the same id', async () => {
    const topics = await privateTopics(3);
    const groupId = uniqueName('agg_crash');
    const request = syntheticRequest(randomUUID(), 1, 2);
    await publish(bus, topics.requestEvents, [request.accepted, ...request.results]);

    const output = await crashChild(topics, groupId, 'latch');
    expect(output).toContain('CRASHING latch');
    expect(await storedOutcome(cassandra, request.truth.requestId)).toMatchObject({
      completionId: completionIdFor(request.truth.requestId),
      published: false,
    });
    expect(await completionsOn(topics.requestsCompleted)).toEqual([]);

    // Sweeps with no grace: anything still unpublished or open would be picked up by one.
    const survivor = await startAggregator({
      topics,
      groupId,
      sweep: false,
      env: { ...SESSION, AGGREGATOR_RECOVERY_GRACE_MS: '1' },
    });
    running.push(survivor);
    await waitFor(
      async () =>
        (await storedOutcome(cassandra, request.truth.requestId))?.published ? true : undefined,
      { timeoutMs: 60_000, what: 'the recovered publish' },
    );
    // Published and cleaned up: a sweep finds nothing left open or unpublished.
    expect(await survivor.sweepNow()).toEqual({
      open: 0,
      recovered: 0,
      closedOrphans: 0,
      closedStalled: 0,
    });

    const published = await completionsOn(topics.requestsCompleted);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      completionId: completionIdFor(request.truth.requestId),
      status: 'COMPLETED',
      total: 2,
      compressed: 2,
    });
  });
});
