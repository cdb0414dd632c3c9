/**
 * Long handlers against the real group coordinator (issue 3: "no rebalance when one message
 * takes 40 s with a 30 s session timeout", scaled down to 15 s with a 6 s session timeout),
 * and the stall guard that keeps a stuck handler from being kept alive forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageRequested } from '@imgpipe/schemas';
import {
  createBus,
  createKafka,
  done,
  errorCode,
  Registry,
  silentLogger,
  type Bus,
  type IncomingMessage,
} from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';
import { imageRequested, privateTopics, waitForAllCommitted } from '../fixtures/bus-support';

const env = testEnv();
const logger = silentLogger();
const kafka = createKafka(env.kafka, logger);

const buses: Bus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

const rebalances = async (registry: Registry): Promise<number> =>
  (await registry.getSingleMetric('imgpipe_bus_rebalances_total')!.get()).values[0]?.value ?? 0;

const idOf = (m: IncomingMessage) => (m.event.value as ImageRequested).imageId;

describe('bus heartbeats during long handlers', () => {
  it('keeps the member in the group while one message takes 15 s with a 6 s session timeout', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_hb_long', partitions: 1 }]);
    const groupId = uniqueName('grp');
    const slow = imageRequested();
    const quick = imageRequested();
    const handled: { id: string; member: number }[] = [];
    const registries = [new Registry(), new Registry()];
    // Two members: had the one with the partition been evicted, the other would have been
    // given the partition and handled the slow message a second time.
    const consumers = registries.map((registry, member) => {
      const bus = createBus({ kafka: env.kafka, logger, registry, clientId: 'hb-it' });
      buses.push(bus);
      return bus.consumer({
        groupId,
        topics: [topic!],
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 2_000,
        handler: async (m) => {
          // No heartbeat() calls: the bus must keep the member alive on its own.
          if (idOf(m) === slow.key) await sleep(15_000);
          handled.push({ id: idOf(m), member });
          return done();
        },
      });
    });
    await Promise.all(consumers.map((c) => c.start()));
    const before = await Promise.all(registries.map(rebalances));

    await (await buses[0]!.producer()).send(topic!, [slow, quick]);
    await waitFor(() => (handled.length >= 2 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'both messages handled',
    });
    await waitForAllCommitted(kafka, groupId, topic!.name);

    expect(handled.map((h) => h.id)).toEqual([slow.key, quick.key]);
    expect(handled[0]!.member).toBe(handled[1]!.member);
    expect(await Promise.all(registries.map(rebalances))).toEqual(before);
    expect(consumers.every((c) => c.isRunning())).toBe(true);
    await Promise.all(consumers.map((c) => c.stop()));
  });

  it('lets a long handler finish and commit when a member joins meanwhile: nothing handled twice', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_hb_join', partitions: 1 }]);
    const groupId = uniqueName('grp');
    const slow = imageRequested();
    const next = imageRequested();
    const started: string[] = [];
    const handled: string[] = [];
    const member = () => {
      const bus = createBus({
        kafka: env.kafka,
        logger,
        registry: new Registry(),
        clientId: 'hb-it',
      });
      buses.push(bus);
      return bus.consumer({
        groupId,
        topics: [topic!],
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 1_000,
        handler: async (m) => {
          started.push(idOf(m));
          if (idOf(m) === slow.key) await sleep(8_000);
          handled.push(idOf(m));
          return done();
        },
      });
    };
    const first = member();
    await first.start();
    await (await buses[buses.length - 1]!.producer()).send(topic!, [slow, next]);
    await waitFor(() => (started.length > 0 ? true : undefined), { what: 'the slow handler' });

    // A second member joins while the slow message is being handled: the group rebalances
    // only after it is finished and committed, so whoever gets the partition does not
    // handle it again.
    const second = member();
    await second.start();
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(started).toEqual([slow.key, next.key]);
    expect(handled).toEqual([slow.key, next.key]);
    await Promise.all([first.stop(), second.stop()]);
  });

  it('aborts the signal of a handler that stops making progress, and redelivers the message', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_hb_stall', partitions: 1 }]);
    const groupId = uniqueName('grp');
    const bus = createBus({
      kafka: env.kafka,
      logger,
      registry: new Registry(),
      clientId: 'hb-it',
    });
    buses.push(bus);
    const attempts: { attempt: number; abortCode?: string }[] = [];
    const consumer = bus.consumer({
      groupId,
      topics: [topic!],
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      stallTimeoutMs: 2_500,
      handler: async (m) => {
        if (m.attempt > 1) {
          attempts.push({ attempt: m.attempt });
          return done();
        }
        // Stuck: never calls heartbeat(), only gives up when the bus aborts it.
        const reason = await new Promise<unknown>((resolve) =>
          m.signal.addEventListener('abort', () => resolve(m.signal.reason)),
        );
        attempts.push({ attempt: m.attempt, abortCode: errorCode(reason) });
        throw reason;
      },
    });
    await consumer.start();
    await (await bus.producer()).send(topic!, [imageRequested()]);
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(attempts).toEqual([
      { attempt: 1, abortCode: 'ERR_BUS_HANDLER_STALLED' },
      { attempt: 2 },
    ]);
    await consumer.stop();
  });
});
