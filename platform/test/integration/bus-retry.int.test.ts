/**
 * Delay-tier retries and dead letters against the real broker (issue 3): `retry` comes back
 * after its tier's delay with attempt + 1 and, after the last attempt, lands on the dead-letter
 * topic with its reason after `onExhausted` ran once; `fail` goes straight there; a throw is
 * retried; `afterMs` longer than the tier delay is honoured. Delays are scaled down to ~1 s.
 */
import { decodeEvent, type ImageRequested } from '@imgpipe/schemas';
import {
  createBus,
  createKafka,
  DEAD_LETTER_CAUSE_HEADER,
  done,
  fail,
  Registry,
  retry,
  silentLogger,
  type Bus,
  type IncomingMessage,
} from '../../src';
import { testEnv, uniqueName, waitFor } from '../../../test/support/env';
import {
  envelopeOf,
  imageRequested,
  privateTopics,
  readTopic,
  waitForAllCommitted,
} from '../fixtures/bus-support';

const env = testEnv();
const logger = silentLogger();
const kafka = createKafka(env.kafka, logger);

const buses: Bus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

interface Delivery {
  at: number;
  attempt: number;
  topic: string;
  partition: number;
  offset: string;
}

describe('bus retries through delay tiers', () => {
  it('retries, exhausts, fails and dead-letters as the handler says', async () => {
    const [main, tier1, tier2, dlq] = await privateTopics(kafka, [
      { prefix: 'it_retry_main', partitions: 2 },
      { prefix: 'it_retry_t1', partitions: 2 },
      { prefix: 'it_retry_t2', partitions: 1 },
      { prefix: 'it_retry_dlq', partitions: 1, key: 'original' },
    ]);
    const delaysMs = [1_000, 1_500];
    const alwaysRetry = imageRequested(); // retry on every attempt → exhausted after 3
    const permanent = imageRequested(); // fail at once
    const throwsOnce = imageRequested(); // throws on attempt 1, done on attempt 2
    const slowDown = imageRequested(); // retry after 2.5 s (> tier delay), then done
    const fine = imageRequested(); // done at once
    const names = new Map([
      [alwaysRetry.key, 'alwaysRetry'],
      [permanent.key, 'permanent'],
      [throwsOnce.key, 'throwsOnce'],
      [slowDown.key, 'slowDown'],
      [fine.key, 'fine'],
    ]);

    const deliveries = new Map<string, Delivery[]>();
    const exhausted: { name: string; attempt: number; reason: string; outcome: string }[] = [];
    const registry = new Registry();
    const bus = createBus({ kafka: env.kafka, logger, registry, clientId: 'retry-it' });
    buses.push(bus);
    const nameOf = (m: IncomingMessage) => names.get((m.event.value as ImageRequested).imageId)!;
    const groupId = uniqueName('grp');
    const consumer = bus.consumer({
      groupId,
      topics: [main!],
      partitionsConcurrently: 2,
      retry: {
        delaysMs,
        tiers: [tier1!, tier2!],
        deadLetter: dlq!,
        onExhausted: (m, reason, outcome) => {
          exhausted.push({ name: nameOf(m), attempt: m.attempt, reason, outcome });
          return Promise.resolve();
        },
      },
      handler: (m) => {
        const name = nameOf(m);
        const list = deliveries.get(name) ?? [];
        list.push({
          at: Date.now(),
          attempt: m.attempt,
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
        });
        deliveries.set(name, list);
        switch (name) {
          case 'alwaysRetry':
            return Promise.resolve(retry(`upstream 503 on attempt ${m.attempt}`));
          case 'permanent':
            return Promise.resolve(fail('HTTP 404 from origin'));
          case 'throwsOnce':
            if (m.attempt === 1) return Promise.reject(new Error('connection reset'));
            return Promise.resolve(done());
          case 'slowDown':
            return Promise.resolve(m.attempt === 1 ? retry('429', 2_500) : done());
          default:
            return Promise.resolve(done());
        }
      },
    });
    await consumer.start();
    await (await bus.producer()).send(main!, [alwaysRetry, permanent, throwsOnce, slowDown, fine]);

    const letters = (await readTopic(kafka, dlq!.name, 2, 60_000)).map(envelopeOf);
    await waitFor(() => (deliveries.get('slowDown')?.length === 2 ? true : undefined), {
      what: 'slowDown redelivered',
    });
    for (const t of [main!, tier1!, tier2!]) await waitForAllCommitted(kafka, groupId, t.name);

    const attempts = (name: string) => deliveries.get(name)!.map((d) => d.attempt);
    expect(attempts('alwaysRetry')).toEqual([1, 2, 3]);
    expect(attempts('permanent')).toEqual([1]);
    expect(attempts('throwsOnce')).toEqual([1, 2]);
    expect(attempts('slowDown')).toEqual([1, 2]);
    expect(attempts('fine')).toEqual([1]);

    // Redeliveries show the original position, and never come before they are due.
    const a = deliveries.get('alwaysRetry')!;
    expect(new Set(a.map((d) => `${d.topic}/${d.partition}/${d.offset}`)).size).toBe(1);
    expect(a[0]!.topic).toBe(main!.name);
    expect(a[1]!.at - a[0]!.at).toBeGreaterThanOrEqual(delaysMs[0]!);
    expect(a[2]!.at - a[1]!.at).toBeGreaterThanOrEqual(delaysMs[1]!);
    const s = deliveries.get('slowDown')!;
    expect(s[1]!.at - s[0]!.at).toBeGreaterThanOrEqual(2_500);

    // onExhausted once per message that ran out of attempts, before its dead letter.
    expect(exhausted.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: 'alwaysRetry', attempt: 3, reason: 'upstream 503 on attempt 3', outcome: 'retry' },
      { name: 'permanent', attempt: 1, reason: 'HTTP 404 from origin', outcome: 'fail' },
    ]);

    // The dead letters carry the original message, its position, attempts and the reason.
    const byName = new Map(
      letters.map((l) => {
        const event = decodeEvent(l.envelope.payload, l.envelope.headers);
        return [names.get((event.value as ImageRequested).imageId)!, l];
      }),
    );
    expect([...byName.keys()].sort()).toEqual(['alwaysRetry', 'permanent']);
    const exhaustedLetter = byName.get('alwaysRetry')!;
    expect(exhaustedLetter.envelope).toMatchObject({
      originalTopic: main!.name,
      originalPartition: a[0]!.partition,
      originalOffset: a[0]!.offset,
      key: alwaysRetry.key,
      attempt: 3,
      reason: 'upstream 503 on attempt 3',
    });
    expect(exhaustedLetter.headers[DEAD_LETTER_CAUSE_HEADER]).toBe('exhausted');
    expect(byName.get('permanent')!.envelope).toMatchObject({
      key: permanent.key,
      attempt: 1,
      reason: 'HTTP 404 from origin',
    });
    expect(byName.get('permanent')!.headers[DEAD_LETTER_CAUSE_HEADER]).toBe('fail');

    // Nothing else is dead-lettered, and the counters tell the same story.
    const count = async (topic: string, outcome: string) => {
      const { values } = await registry
        .getSingleMetric('imgpipe_bus_messages_consumed_total')!
        .get();
      return values.find((v) => v.labels.topic === topic && v.labels.outcome === outcome)?.value;
    };
    expect(await count(main!.name, 'done')).toBe(1);
    expect(await count(main!.name, 'retry')).toBe(2);
    expect(await count(main!.name, 'error')).toBe(1);
    expect(await count(main!.name, 'fail')).toBe(1);
    expect(await count(tier1!.name, 'retry')).toBe(1);
    expect(await count(tier1!.name, 'done')).toBe(2);
    expect(await count(tier2!.name, 'exhausted')).toBe(1);
    const { values: dead } = await registry
      .getSingleMetric('imgpipe_bus_dead_letters_total')!
      .get();
    expect(dead.find((v) => v.labels.topic === main!.name)?.value).toBe(2);
    await consumer.stop();
  });
});
