import type { TopicSpec } from '@imgpipe/schemas';
import { consumerOptionProblems, inPlaceBackoffMs, planOutcome } from './retry-plan';
import { done, fail, retry, type ConsumerOptions, type RetryPolicy } from './types';

const topic = (name: string): TopicSpec => ({
  name,
  partitions: 1,
  key: 'imageId',
  retentionMs: 60_000,
});
const policy: RetryPolicy = {
  delaysMs: [30_000, 300_000],
  tiers: [topic('t1'), topic('t2')],
  deadLetter: topic('dlq'),
};
const NOW = 1_000_000;

describe('planOutcome', () => {
  it('commits done', () => {
    expect(planOutcome(done(), 1, policy, NOW)).toEqual({ action: 'commit' });
  });

  it('sends retry on attempt n to tier n, due after that tier delay', () => {
    expect(planOutcome(retry('503'), 1, policy, NOW)).toEqual({
      action: 'delay',
      tier: 0,
      attempt: 1,
      dueAt: NOW + 30_000,
    });
    expect(planOutcome(retry('503'), 2, policy, NOW)).toEqual({
      action: 'delay',
      tier: 1,
      attempt: 2,
      dueAt: NOW + 300_000,
    });
  });

  it('waits the longer of the tier delay and the handler afterMs', () => {
    expect(planOutcome(retry('429', 60_000), 1, policy, NOW)).toMatchObject({
      dueAt: NOW + 60_000,
    });
    expect(planOutcome(retry('429', 10), 1, policy, NOW)).toMatchObject({ dueAt: NOW + 30_000 });
  });

  it('exhausts a retry on the attempt after the last tier (tiers + 1 attempts in all)', () => {
    expect(planOutcome(retry('503'), 3, policy, NOW)).toEqual({ action: 'exhaust', as: 'retry' });
  });

  it('exhausts fail at once, whatever the attempt', () => {
    expect(planOutcome(fail('404'), 1, policy, NOW)).toEqual({ action: 'exhaust', as: 'fail' });
    expect(planOutcome(fail('404'), 1, undefined, NOW)).toEqual({ action: 'exhaust', as: 'fail' });
  });

  it('without a policy, holds the message in place with attempt + 1 (afterMs, else backoff)', () => {
    expect(planOutcome(retry('busy', 250), 1, undefined, NOW)).toEqual({
      action: 'hold',
      attempt: 2,
      delayMs: 250,
    });
    expect(planOutcome(retry('busy'), 3, undefined, NOW, () => 0.5)).toEqual({
      action: 'hold',
      attempt: 4,
      delayMs: 4_000,
    });
  });
});

describe('inPlaceBackoffMs', () => {
  it('doubles from 1 s, caps at 30 s and jitters by ±20 %', () => {
    expect([1, 2, 3, 6, 20].map((a) => inPlaceBackoffMs(a, () => 0.5))).toEqual([
      1_000, 2_000, 4_000, 30_000, 30_000,
    ]);
    expect(inPlaceBackoffMs(1, () => 0)).toBe(800);
    expect(inPlaceBackoffMs(1, () => 1)).toBe(1_200);
  });
});

describe('consumerOptionProblems', () => {
  const base: ConsumerOptions = {
    groupId: 'g',
    topics: [topic('main')],
    handler: () => Promise.resolve(done()),
  };

  it('accepts sensible options', () => {
    expect(consumerOptionProblems({ ...base, retry: policy })).toEqual([]);
  });

  it('lists every problem at once', () => {
    const problems = consumerOptionProblems({
      ...base,
      partitionsConcurrently: 0,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 6_000,
      retry: { delaysMs: [1, -5, 3], tiers: [topic('main'), topic('t2')], deadLetter: topic('t2') },
    });
    expect(problems).toEqual([
      'partitionsConcurrently: expected a positive integer (got 0)',
      'heartbeatIntervalMs: must be below sessionTimeoutMs (6000 >= 6000)',
      'retry: 3 delay(s) for 2 tier topic(s); need one delay per tier',
      'retry.delaysMs[1]: expected >= 0 (got -5)',
      'retry.tiers: main is also a consumed topic',
      'retry.deadLetter: t2 is also consumed by this consumer',
    ]);
  });
});
