/**
 * Bus vs plain kafkajs throughput, same broker, same run (issue 3: the bus should keep
 * ≥ 90 % of plain kafkajs). Not a test: it prints figures and ratios.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx --conditions=development bench/bus-throughput.ts
 *
 * Each side produces N ~1 KiB ImageRequested messages to its own fresh topic (acks=-1, gzip,
 * idempotent producer, ~850 KB per request on both sides), then a fresh group consumes them
 * all. Produce time runs from the first send to the last ack; consume time from the first
 * message handed to the handler to the last (the group join is not counted).
 *   plain: kafkajs producer.send of pre-encoded Avro bytes; eachMessage consumer counting
 *          messages (no decode) with kafkajs' default commits.
 *   plain+codec: the same, with encodeEvent/decodeEvent (what any service must do anyway).
 *   bus:   createBus: producer().send(topic, events) and a consumer whose handler returns done().
 * Rounds alternate the order to spread the noise of a shared machine; it prints the best round
 * of each side and the median of the per-round ratios.
 * Env: BENCH_MESSAGES (default 20000), BENCH_ROUNDS (default 3), BENCH_PARTITIONS (default 6),
 * BENCH_ONLY (one side only, for profiling).
 */
import { randomUUID } from 'node:crypto';
import { CompressionTypes, type Kafka } from 'kafkajs';
import {
  decodeEvent,
  encodeEvent,
  fixture,
  type ImageRequested,
  type TopicSpec,
} from '@imgpipe/schemas';
import {
  createBus,
  createKafka,
  done,
  ensureTopics,
  kafkaEnv,
  parseEnv,
  Registry,
  silentLogger,
  type OutgoingEvent,
} from '@imgpipe/platform';
import { uniqueName } from '../test/support/env';

const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
/** Profiling aid: run one side only (plain | plainCodec | bus). */
const ONLY = process.env.BENCH_ONLY;
const PLAIN_CHUNK = 800; // messages per plain produce request: ~850 KB, like the bus's requests

const env = parseEnv(kafkaEnv, process.env);
const logger = silentLogger();
const kafka = createKafka(env, logger);
const topicsMade: string[] = [];

interface Result {
  produceMs: number;
  consumeMs: number;
}

/** ~1 KiB encoded: a long product name and URL, as a real catalogue export can have. */
function events(): OutgoingEvent<'ImageRequested'>[] {
  return Array.from({ length: N }, (_, i) => {
    const imageId = randomUUID();
    const value: ImageRequested = fixture('ImageRequested', {
      eventId: randomUUID(),
      requestId: randomUUID(),
      imageId,
      productIndex: i,
      productName: `Product ${i} ${'lorem ipsum dolor sit amet '.repeat(14)}`.slice(0, 400),
      inputUrl: `https://cdn.example.com/catalogue/${randomUUID()}/${'x'.repeat(420)}.jpg`,
    });
    return { name: 'ImageRequested', value, key: imageId };
  });
}

async function freshTopic(label: string): Promise<TopicSpec> {
  const spec: TopicSpec = {
    name: uniqueName(`bench_${label}`),
    partitions: PARTITIONS,
    key: 'imageId',
    retentionMs: 3_600_000,
  };
  await ensureTopics(kafka, [spec]);
  topicsMade.push(spec.name);
  return spec;
}

/** Resolves when `count()` reaches N; returns the time from the first to the last message. */
function consumeClock(): { tick: () => void; finished: Promise<number> } {
  let first = 0;
  let seen = 0;
  let resolve!: (ms: number) => void;
  const finished = new Promise<number>((r) => (resolve = r));
  return {
    tick: () => {
      if (seen === 0) first = performance.now();
      seen++;
      if (seen === N) resolve(performance.now() - first);
    },
    finished,
  };
}

async function plain(all: OutgoingEvent<'ImageRequested'>[], withCodec: boolean): Promise<Result> {
  const topic = await freshTopic(withCodec ? 'plaincodec' : 'plain');
  const preEncoded = withCodec ? [] : all.map((e) => encodeEvent(e.name, e.value));
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += PLAIN_CHUNK) {
    const messages = all.slice(i, i + PLAIN_CHUNK).map((e, j) => {
      const enc = withCodec ? encodeEvent(e.name, e.value) : preEncoded[i + j]!;
      return { key: e.key, value: enc.value, headers: enc.headers };
    });
    await producer.send({
      topic: topic.name,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages,
    });
  }
  const produceMs = performance.now() - t0;
  await producer.disconnect();

  const clock = consumeClock();
  const consumer = kafka.consumer({ groupId: uniqueName('bench'), allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      if (withCodec) decodeEvent(message.value, message.headers);
      clock.tick();
      return Promise.resolve();
    },
  });
  const consumeMs = await clock.finished;
  await consumer.disconnect();
  return { produceMs, consumeMs };
}

async function bus(all: OutgoingEvent<'ImageRequested'>[]): Promise<Result> {
  const topic = await freshTopic('bus');
  const b = createBus({ kafka: env, logger, registry: new Registry(), clientId: 'bench' });
  try {
    const producer = await b.producer();
    const t0 = performance.now();
    await producer.send(topic, all);
    const produceMs = performance.now() - t0;

    const clock = consumeClock();
    const consumer = b.consumer({
      groupId: uniqueName('bench'),
      topics: [topic],
      handler: () => {
        clock.tick();
        return Promise.resolve(done());
      },
    });
    await consumer.start();
    const consumeMs = await clock.finished;
    await consumer.stop();
    return { produceMs, consumeMs };
  } finally {
    await b.close();
  }
}

const rate = (ms: number) => Math.round(N / (ms / 1000));
const best = (rs: Result[], f: (r: Result) => number) => Math.min(...rs.map(f));

async function cleanup(k: Kafka): Promise<void> {
  const admin = k.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: topicsMade }).catch(() => undefined);
  await admin.disconnect();
}

async function main(): Promise<void> {
  const all = events();
  const bytes = encodeEvent('ImageRequested', all[0]!.value).value.length;
  console.log(
    `bus vs plain kafkajs: ${N} messages of ${bytes} B, ${PARTITIONS} partitions, ${ROUNDS} round(s), broker ${env.KAFKA_BROKERS.join(',')}`,
  );
  const results: Record<'plain' | 'plainCodec' | 'bus', Result[]> = {
    plain: [],
    plainCodec: [],
    bus: [],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither side always runs on a warmer JIT / broker cache.
    const order: (keyof typeof results)[] =
      round % 2 === 0 ? ['plain', 'plainCodec', 'bus'] : ['bus', 'plainCodec', 'plain'];
    for (const side of order.filter((s) => !ONLY || ONLY === s)) {
      const r = side === 'bus' ? await bus(all) : await plain(all, side === 'plainCodec');
      results[side].push(r);
      console.log(
        `  round ${round + 1} ${side.padEnd(10)} produce ${String(rate(r.produceMs)).padStart(7)} msg/s   consume ${String(rate(r.consumeMs)).padStart(7)} msg/s   produce+consume ${String(rate(r.produceMs + r.consumeMs)).padStart(7)} msg/s`,
      );
    }
  }
  const summary = (side: keyof typeof results) => ({
    produce: rate(best(results[side], (r) => r.produceMs)),
    consume: rate(best(results[side], (r) => r.consumeMs)),
    total: rate(best(results[side], (r) => r.produceMs + r.consumeMs)),
  });
  const p = summary('plain');
  const pc = summary('plainCodec');
  const b = summary('bus');
  const ratio = (x: number, y: number) => (x / y).toFixed(2);
  // The same round's runs are paired (adjacent in time, so under the same machine load); the
  // median of those paired ratios is steadier than a ratio of bests on a shared machine.
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const paired = (base: keyof typeof results, f: (r: Result) => number): string =>
    median(results.bus.map((r, i) => f(results[base][i]!) / f(r))).toFixed(2);
  console.log('best round (msg/s):');
  console.log(
    `  plain kafkajs        produce ${p.produce}  consume ${p.consume}  produce+consume ${p.total}`,
  );
  console.log(
    `  plain kafkajs+codec  produce ${pc.produce}  consume ${pc.consume}  produce+consume ${pc.total}`,
  );
  console.log(
    `  bus                  produce ${b.produce}  consume ${b.consume}  produce+consume ${b.total}`,
  );
  console.log(
    `ratio bus / plain kafkajs (bests):        produce ${ratio(b.produce, p.produce)}  consume ${ratio(b.consume, p.consume)}  produce+consume ${ratio(b.total, p.total)}  (goal >= 0.90)`,
  );
  console.log(
    `ratio bus / plain kafkajs+codec (bests):  produce ${ratio(b.produce, pc.produce)}  consume ${ratio(b.consume, pc.consume)}  produce+consume ${ratio(b.total, pc.total)}`,
  );
  if (!ONLY) {
    const total = (r: Result) => r.produceMs + r.consumeMs;
    console.log(
      `median of per-round ratios, produce+consume: bus / plain kafkajs ${paired('plain', total)}, bus / plain kafkajs+codec ${paired('plainCodec', total)}`,
    );
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup(kafka));
