/**
 * The Kafka bus against the real broker (issue 3): producing with acks, a group of two
 * consumers sharing 1,000 messages with commits never ahead of the handlers, poison messages,
 * in-place redelivery for consumers without delay tiers, and graceful stop.
 * Each test uses its own random topics and groups.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import { encodeEvent, SCHEMA_HEADER, type ImageRequested } from '@imgpipe/schemas';
import {
  createBus,
  createKafka,
  DEAD_LETTER_CAUSE_HEADER,
  done,
  Registry,
  retry,
  silentLogger,
  type Bus,
  type IncomingMessage,
} from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';
import {
  committedOffsets,
  envelopeOf,
  highWatermarks,
  imageRequested,
  privateTopics,
  readTopic,
  waitForAllCommitted,
} from '../fixtures/bus-support';

const env = testEnv();
const logger = silentLogger();
const kafka = createKafka(env.kafka, logger);

const buses: Bus[] = [];
const newBus = (registry = new Registry()): Bus => {
  const bus = createBus({ kafka: env.kafka, logger, registry, clientId: 'bus-it' });
  buses.push(bus);
  return bus;
};
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

const metric = async (registry: Registry, name: string, labels: Record<string, string>) => {
  const m = registry.getSingleMetric(name);
  if (!m) return undefined;
  const { values } = await m.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

const imageId = (m: IncomingMessage): string => (m.event.value as ImageRequested).imageId;

describe('bus producer', () => {
  it('resolves once the broker has the messages, keyed per the catalogue, Avro with the schema header', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_produce', partitions: 3 }]);
    const registry = new Registry();
    const producer = await newBus(registry).producer();
    const events = [imageRequested(), imageRequested(), imageRequested()];
    await producer.send(topic!, events);

    // Acknowledged means readable right away.
    const high = await highWatermarks(kafka, topic!.name);
    expect([...high.values()].reduce((a, b) => a + b, 0n)).toBe(3n);
    const records = await readTopic(kafka, topic!.name, 3);
    expect(
      records.map((r) => r.message.key!.toString()).sort((a, b) => a.localeCompare(b)),
    ).toEqual(events.map((e) => e.key).sort((a, b) => a.localeCompare(b)));
    for (const r of records) {
      expect(r.message.headers?.[SCHEMA_HEADER]?.toString()).toMatch(/ImageRequested@[0-9a-f]+$/);
      const sent = events.find((e) => e.key === r.message.key!.toString())!;
      expect(r.message.value).toEqual(encodeEvent('ImageRequested', sent.value).value);
    }
    expect(
      await metric(registry, 'imgpipe_bus_messages_produced_total', { topic: topic!.name }),
    ).toBe(3);
  });

  it('keeps every one of 100 concurrent sends (idempotent producer, tulios/kafkajs#1005)', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_concurrent', partitions: 3 }]);
    const producer = await newBus().producer();
    const events = Array.from({ length: 100 }, () => imageRequested());
    await Promise.all(events.map((e) => producer.send(topic!, [e])));
    const high = await highWatermarks(kafka, topic!.name);
    expect([...high.values()].reduce((a, b) => a + b, 0n)).toBe(100n);
    const keys = (await readTopic(kafka, topic!.name, 100)).map((r) => r.message.key!.toString());
    expect(new Set(keys)).toEqual(new Set(events.map((e) => e.key)));
  });

  it('closes idempotently and refuses work afterwards', async () => {
    const bus = newBus();
    await bus.producer();
    await Promise.all([bus.close(), bus.close()]);
    await expect(bus.producer()).rejects.toMatchObject({ code: 'ERR_BUS_CLOSED' });
  });

  it('refuses an event whose key is not the field the topic is keyed by, sending nothing', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_key', partitions: 1 }]);
    const producer = await newBus().producer();
    const good = imageRequested();
    const wrong = { ...imageRequested(), key: 'not-the-image-id' };
    await expect(producer.send(topic!, [good, wrong])).rejects.toMatchObject({
      code: 'ERR_BUS_KEY',
    });
    expect((await highWatermarks(kafka, topic!.name)).get(0)).toBe(0n);
  });
});

describe('bus consumer', () => {
  it('shares 1,000 messages between a group of two: each handled once, none lost, no commit ahead of a handler', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_group', partitions: 4 }]);
    const groupId = uniqueName('grp');
    const finished = new Set<string>(); // `${partition}:${offset}` once its handler completed
    const handled: string[] = [];
    const perMember = [0, 0];
    const registries = [new Registry(), new Registry()];
    const consumers = registries.map((registry, member) =>
      newBus(registry).consumer({
        groupId,
        topics: [topic!],
        partitionsConcurrently: 2,
        handler: async (m) => {
          await sleep(Math.floor(Math.random() * 4));
          handled.push(imageId(m));
          perMember[member]!++;
          finished.add(`${m.partition}:${m.offset}`);
          return done();
        },
      }),
    );
    // start() resolves after the join; the second join completes only once the first member
    // rejoined too, so both are members before anything is produced.
    await Promise.all(consumers.map((c) => c.start()));
    expect(consumers.every((c) => c.isRunning())).toBe(true);

    // Watch the committed offsets while the group works: every offset below a committed one
    // must belong to a handler that had already finished.
    const violations: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const committed = await committedOffsets(kafka, groupId, topic!.name);
        for (const [partition, upTo] of committed) {
          for (let o = 0n; o < upTo; o++) {
            if (!finished.has(`${partition}:${o}`)) violations.push(`${partition}:${o}`);
          }
        }
        await sleep(50);
      }
    })();

    const events = Array.from({ length: 1_000 }, () => imageRequested());
    await (await newBus().producer()).send(topic!, events);

    await waitFor(() => (handled.length >= 1_000 ? true : undefined), {
      timeoutMs: 60_000,
      what: `1,000 handled (got ${handled.length})`,
    });
    await waitForAllCommitted(kafka, groupId, topic!.name);
    watching = false;
    await watcher;

    expect(violations).toEqual([]);
    expect(handled).toHaveLength(1_000);
    expect(new Set(handled)).toEqual(new Set(events.map((e) => e.key)));
    expect(perMember.every((n) => n > 0)).toBe(true);
    let doneCount = 0;
    for (const registry of registries) {
      doneCount +=
        (await metric(registry, 'imgpipe_bus_messages_consumed_total', {
          topic: topic!.name,
          outcome: 'done',
        })) ?? 0;
    }
    expect(doneCount).toBe(1_000);
    await Promise.all(consumers.map((c) => c.stop()));
  });

  it('handles partitions in parallel but never more messages at once than maxInFlight', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_inflight', partitions: 4 }]);
    const events = Array.from({ length: 40 }, () => imageRequested());
    await (await newBus().producer()).send(topic!, events);
    const groupId = uniqueName('grp');
    let running = 0;
    let most = 0;
    let handled = 0;
    const consumer = newBus().consumer({
      groupId,
      topics: [topic!],
      partitionsConcurrently: 4,
      maxInFlight: 2,
      handler: async () => {
        running++;
        most = Math.max(most, running);
        await sleep(30);
        running--;
        handled++;
        return done();
      },
    });
    await consumer.start();
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(handled).toBe(40);
    expect(most).toBe(2);
    await consumer.stop();
  });

  it('dead-letters poison messages and handles the messages behind them on the same partition', async () => {
    const [topic, dlq] = await privateTopics(kafka, [
      { prefix: 'it_bus_poison', partitions: 1 },
      { prefix: 'it_bus_poison_dlq', partitions: 1, key: 'original' },
    ]);
    const first = imageRequested();
    const last = imageRequested();
    const noSchema = Buffer.from('not avro at all');
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]);
    const raw: Producer = kafka.producer({ allowAutoTopicCreation: false });
    await raw.connect();
    const encoded = (e: typeof first) => encodeEvent('ImageRequested', e.value);
    await raw.send({
      topic: topic!.name,
      acks: -1,
      messages: [
        { key: first.key, value: encoded(first).value, headers: encoded(first).headers },
        { key: 'poison-1', value: noSchema },
        { key: 'poison-2', value: garbage, headers: encoded(first).headers },
        { key: last.key, value: encoded(last).value, headers: encoded(last).headers },
      ],
    });
    await raw.disconnect();

    const registry = new Registry();
    const groupId = uniqueName('grp');
    const seen: string[] = [];
    const consumer = newBus(registry).consumer({
      groupId,
      topics: [topic!],
      deadLetter: dlq!,
      handler: (m) => {
        seen.push(imageId(m));
        return Promise.resolve(done());
      },
    });
    await consumer.start();
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(seen).toEqual([first.key, last.key]);

    const letters = (await readTopic(kafka, dlq!.name, 2)).map(envelopeOf);
    expect(letters.map((l) => l.envelope.originalOffset)).toEqual(['1', '2']);
    const [a, b] = letters;
    expect(a!.envelope).toMatchObject({
      originalTopic: topic!.name,
      originalPartition: 0,
      key: 'poison-1',
      payload: noSchema,
      attempt: 0,
      reason: expect.stringContaining('ERR_DECODE_MISSING_SCHEMA') as unknown,
    });
    expect(b!.envelope).toMatchObject({
      key: 'poison-2',
      payload: garbage,
      headers: encoded(first).headers,
      reason: expect.stringContaining('ERR_DECODE_BYTES') as unknown,
    });
    expect(letters.map((l) => l.headers[DEAD_LETTER_CAUSE_HEADER])).toEqual(['poison', 'poison']);
    expect(
      await metric(registry, 'imgpipe_bus_messages_consumed_total', {
        topic: topic!.name,
        outcome: 'poison',
      }),
    ).toBe(2);
    expect(await metric(registry, 'imgpipe_bus_dead_letters_total', { topic: topic!.name })).toBe(
      2,
    );
    await consumer.stop();
  });

  it('without delay tiers, redelivers a retried message in place and keeps the partition order', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_inplace', partitions: 1 }]);
    const [x, y] = [imageRequested(), imageRequested()];
    await (await newBus().producer()).send(topic!, [x, y]);
    const groupId = uniqueName('grp');
    const log: string[] = [];
    const consumer = newBus().consumer({
      groupId,
      topics: [topic!],
      handler: (m) => {
        const name = imageId(m) === x.key ? 'x' : 'y';
        log.push(`${name}@${m.attempt}:${m.offset}`);
        return Promise.resolve(name === 'x' && m.attempt === 1 ? retry('busy', 300) : done());
      },
    });
    await consumer.start();
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(log).toEqual(['x@1:0', 'x@2:0', 'y@1:1']);
    await consumer.stop();
  });

  it('stops gracefully: the handler in flight finishes and everything finished is committed', async () => {
    const [topic] = await privateTopics(kafka, [{ prefix: 'it_bus_stop', partitions: 1 }]);
    await (
      await newBus().producer()
    ).send(
      topic!,
      Array.from({ length: 20 }, () => imageRequested()),
    );
    const groupId = uniqueName('grp');
    const finished: number[] = [];
    let started = 0;
    const first = newBus().consumer({
      groupId,
      topics: [topic!],
      handler: async (m) => {
        started++;
        await sleep(200);
        finished.push(Number(m.offset));
        return done();
      },
    });
    await first.start();
    await waitFor(() => (finished.length >= 3 ? true : undefined), { what: '3 handled' });
    await waitFor(() => (started > finished.length ? true : undefined), { what: 'one in flight' });
    const stopping = first.stop();
    expect(first.isRunning()).toBe(false);
    await Promise.all([stopping, first.stop()]); // idempotent
    expect(started).toBe(finished.length); // the one in flight was let finish...
    const count = finished.length;
    expect(finished).toEqual(Array.from({ length: count }, (_, i) => i));
    // ...and committed with the rest.
    expect((await committedOffsets(kafka, groupId, topic!.name)).get(0)).toBe(BigInt(count));

    // A handler still busy when the grace period ends sees its signal aborted; what it did
    // not finish is not committed and the next member gets it again.
    const abandoned: string[] = [];
    const second = newBus().consumer({
      groupId,
      topics: [topic!],
      stopGraceMs: 300,
      handler: (m) =>
        new Promise((_, reject) => {
          abandoned.push(m.offset);
          m.signal.addEventListener('abort', () => reject(m.signal.reason as Error));
        }),
    });
    await second.start();
    await waitFor(() => (abandoned.length > 0 ? true : undefined), { what: 'second in flight' });
    await second.stop();
    expect(abandoned).toEqual([String(count)]);
    expect((await committedOffsets(kafka, groupId, topic!.name)).get(0)).toBe(BigInt(count));

    const redelivered: string[] = [];
    const third = newBus().consumer({
      groupId,
      topics: [topic!],
      handler: (m) => {
        redelivered.push(m.offset);
        return Promise.resolve(done());
      },
    });
    await third.start();
    await waitForAllCommitted(kafka, groupId, topic!.name);
    expect(redelivered[0]).toBe(String(count));
    expect(redelivered).toHaveLength(20 - count);
    await third.stop();
  });
});
