/**
 * A real aggregator process that kills itself (SIGKILL: no shutdown, no offset commit) at an
 * exact point, for the crash tests. Run: `npx tsx --conditions=development <this file>` with
 *   AGG_TEST_TOPICS  JSON AggregatorTopics      AGG_CRASH_POINT  `writes:N` | `latch`
 * plus the engines' env. `writes:N`: after the N-th result's image row is written (before its
 * offset is committed; its request row update may be written or still coalescing). `latch`: after the completion latch is recorded
 * (before RequestCompleted is published). It prints `CRASHING <point>` first.
 */
import { writeSync } from 'node:fs';
import type { AggregatorTopics } from '../../src/app';
import type { RequestStore } from '../../src/domain/ports';
import { startAggregator } from './harness';

const topics = JSON.parse(process.env.AGG_TEST_TOPICS ?? '') as AggregatorTopics;
const point = process.env.AGG_CRASH_POINT ?? '';

function crash(): never {
  writeSync(1, `CRASHING ${point}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function crashing(store: RequestStore): RequestStore {
  const writes = /^writes:(\d+)$/.exec(point);
  if (writes) {
    const n = Number(writes[1]);
    let images = 0;
    return {
      ...store,
      saveImage: async (image) => {
        await store.saveImage(image);
        images += 1;
        if (images >= n) crash();
      },
    };
  }
  if (point === 'latch') {
    return {
      ...store,
      recordCompletion: async (record) => {
        const result = await store.recordCompletion(record);
        crash();
        return result;
      },
    };
  }
  throw new Error(`AGG_CRASH_POINT must be writes:N or latch, got ${JSON.stringify(point)}`);
}

startAggregator({
  topics,
  groupId: process.env.AGGREGATOR_GROUP_ID,
  sweep: false,
  wrapStore: crashing,
}).then(
  () => writeSync(1, 'STARTED\n'),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
