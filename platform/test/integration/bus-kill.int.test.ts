/**
 * A group member killed mid-batch (SIGKILL: no stop, no commit, no leave) against the real
 * broker (issue 3): once the coordinator notices, the survivor is given the partition and
 * redelivers exactly what the dead member had not committed — including the message it was in
 * the middle of — and nothing it had committed. The member runs in a child process
 * (../fixtures/bus-consumer-child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageRequested } from '@imgpipe/schemas';
import { createBus, createKafka, done, Registry, silentLogger, type Bus } from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';
import {
  committedOffsets,
  highWatermarks,
  imageRequested,
  privateTopics,
  waitForAllCommitted,
} from '../fixtures/bus-support';

const env = testEnv();
const logger = silentLogger();
const kafka = createKafka(env.kafka, logger);
const repoDir = path.resolve(__dirname, '..', '..', '..');

interface ChildEvent {
  ev: 'running' | 'start' | 'done';
  partition: number;
  offset: string;
  id: string;
}

let child: ChildProcess | undefined;
const buses: Bus[] = [];
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(buses.map((b) => b.close()));
});

describe('bus consumer killed mid-batch', () => {
  it('redelivers its uncommitted messages to the survivor, and only those', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_kill', partitions: 2 }]);
    const groupId = uniqueName('grp');
    const events = Array.from({ length: 60 }, () => imageRequested());
    const bus = createBus({
      kafka: env.kafka,
      logger,
      registry: new Registry(),
      clientId: 'kill-it',
    });
    buses.push(bus);
    await (await bus.producer()).send(topic!, events);

    // The member that will be killed: alone at first, 250 ms per message.
    const seen: ChildEvent[] = [];
    // node itself with tsx's loader (what `npx tsx` runs in a grandchild): one process, so
    // SIGKILL hits the consumer and not just a wrapper.
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=development',
        'platform/test/fixtures/bus-consumer-child.ts',
      ],
      {
        cwd: repoDir,
        env: {
          ...process.env,
          TOPIC: topic!.name,
          PARTITIONS: '2',
          GROUP_ID: groupId,
          HANDLER_MS: '250',
          SESSION_TIMEOUT_MS: '6000',
        },
        // stdin stays open: the child exits when it closes (should this test runner die).
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const stdoutClosed = new Promise<void>((resolve) => child!.stdout!.once('close', resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      seen.push(JSON.parse(line) as ChildEvent);
    });
    const starts = () => seen.filter((e) => e.ev === 'start').length;
    await waitFor(() => (starts() >= 3 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the child to handle messages',
    });

    // The survivor joins: the group splits the two partitions between the members.
    const handled: { partition: number; offset: string; id: string }[] = [];
    const survivor = bus.consumer({
      groupId,
      topics: [topic!],
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      handler: async (m) => {
        await sleep(10);
        handled.push({
          partition: m.partition,
          offset: m.offset,
          id: (m.event.value as ImageRequested).imageId,
        });
        return done();
      },
    });
    await survivor.start();

    // Kill the child right after it started a message on its share of the partitions.
    const startsAtJoin = starts();
    await waitFor(() => (starts() >= startsAtJoin + 2 ? true : undefined), {
      what: 'the child to go on after the rebalance',
    });
    child.kill('SIGKILL');
    await stdoutClosed; // everything it printed before dying
    const committedAtKill = await committedOffsets(kafka, groupId, topic!.name);

    const last = seen[seen.length - 1]!;
    expect(last.ev).toBe('start'); // it died inside a handler
    const inFlight = last;
    const deadPartition = inFlight.partition;
    const committed = committedAtKill.get(deadPartition) ?? -1n;
    // Nothing at or after the unfinished message was committed by the dead member.
    expect(committed).toBeLessThanOrEqual(BigInt(inFlight.offset));

    // The survivor takes over once the coordinator has given up on the dead member.
    await waitForAllCommitted(kafka, groupId, topic!.name, 90_000);

    const high = (await highWatermarks(kafka, topic!.name)).get(deadPartition)!;
    const start = committed < 0n ? 0n : committed;
    const redelivered = handled
      .filter((h) => h.partition === deadPartition)
      .map((h) => BigInt(h.offset));
    // Exactly the uncommitted tail of the dead member's partition, in order.
    expect(redelivered).toEqual(
      Array.from({ length: Number(high - start) }, (_, i) => start + BigInt(i)),
    );
    expect(redelivered).toContain(BigInt(inFlight.offset));

    // None lost: every event was finished by the dead member or handled by the survivor.
    const finished = new Set([
      ...seen.filter((e) => e.ev === 'done').map((e) => e.id),
      ...handled.map((h) => h.id),
    ]);
    expect(events.filter((e) => !finished.has(e.key))).toEqual([]);
    await survivor.stop();
  });
});
