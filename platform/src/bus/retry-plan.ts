/**
 * What the bus does with a handler's outcome: pure decisions, kept apart from the kafkajs
 * plumbing so the attempt arithmetic is unit-tested on its own.
 *
 * Attempts: a message is delivered with attempt 1; `retry` (or a throw) on attempt n sends it
 * to delay tier n (delaysMs[n-1]), from which it is redelivered with attempt n+1. With T tiers
 * a message gets at most T+1 attempts; a `retry` on attempt T+1 exhausts it.
 */
import type { ConsumerOptions, Outcome, RetryPolicy } from './types';

export type Plan =
  | { readonly action: 'commit' }
  /** Publish to a delay tier, then commit. `attempt` = attempts made (stored in the Envelope). */
  | {
      readonly action: 'delay';
      readonly tier: number;
      readonly attempt: number;
      readonly dueAt: number;
    }
  /** onExhausted (with a RetryPolicy), then the dead-letter topic, then commit. */
  | { readonly action: 'exhaust'; readonly as: 'retry' | 'fail' }
  /** No RetryPolicy: redeliver in place after `delayMs` with `attempt` (keeps partition order). */
  | { readonly action: 'hold'; readonly attempt: number; readonly delayMs: number };

/** Backoff for in-place redelivery: 1 s, 2 s, 4 s … capped at 30 s, ±20 % jitter. */
export function inPlaceBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function planOutcome(
  outcome: Outcome,
  attempt: number,
  policy: RetryPolicy | undefined,
  now: number,
  random: () => number = Math.random,
): Plan {
  switch (outcome.kind) {
    case 'done':
      return { action: 'commit' };
    case 'fail':
      return { action: 'exhaust', as: 'fail' };
    case 'retry': {
      if (!policy) {
        return {
          action: 'hold',
          attempt: attempt + 1,
          delayMs: outcome.afterMs ?? inPlaceBackoffMs(attempt, random),
        };
      }
      if (attempt > policy.tiers.length) return { action: 'exhaust', as: 'retry' };
      const delay = Math.max(policy.delaysMs[attempt - 1] ?? 0, outcome.afterMs ?? 0);
      return { action: 'delay', tier: attempt - 1, attempt, dueAt: now + delay };
    }
  }
}

/** Every problem with a consumer's options, one line each (empty when fine). */
export function consumerOptionProblems(o: ConsumerOptions): string[] {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
      problems.push(`${name}: expected a positive integer (got ${v})`);
    }
  };
  if (!o.groupId) problems.push('groupId: required');
  if (o.topics.length === 0) problems.push('topics: at least one topic');
  positiveInt('partitionsConcurrently', o.partitionsConcurrently);
  positiveInt('maxInFlight', o.maxInFlight);
  positiveInt('sessionTimeoutMs', o.sessionTimeoutMs);
  positiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs);
  positiveInt('stallTimeoutMs', o.stallTimeoutMs);
  positiveInt('rebalanceTimeoutMs', o.rebalanceTimeoutMs);
  positiveInt('commitIntervalMs', o.commitIntervalMs);
  positiveInt('maxWaitTimeMs', o.maxWaitTimeMs);
  positiveInt('maxBytesPerPartition', o.maxBytesPerPartition);
  if (o.stopGraceMs !== undefined && !(Number.isInteger(o.stopGraceMs) && o.stopGraceMs >= 0)) {
    problems.push(`stopGraceMs: expected an integer >= 0 (got ${o.stopGraceMs})`);
  }
  const session = o.sessionTimeoutMs ?? 30_000;
  const heartbeat = o.heartbeatIntervalMs ?? 3_000;
  if (heartbeat >= session) {
    problems.push(
      `heartbeatIntervalMs: must be below sessionTimeoutMs (${heartbeat} >= ${session})`,
    );
  }
  const names = o.topics.map((t) => t.name);
  const r = o.retry;
  if (r) {
    if (r.delaysMs.length !== r.tiers.length) {
      problems.push(
        `retry: ${r.delaysMs.length} delay(s) for ${r.tiers.length} tier topic(s); need one delay per tier`,
      );
    }
    r.delaysMs.forEach((d, i) => {
      if (!(Number.isFinite(d) && d >= 0))
        problems.push(`retry.delaysMs[${i}]: expected >= 0 (got ${d})`);
    });
    for (const t of r.tiers) {
      if (names.includes(t.name)) problems.push(`retry.tiers: ${t.name} is also a consumed topic`);
    }
    if (new Set(r.tiers.map((t) => t.name)).size !== r.tiers.length) {
      problems.push('retry.tiers: a tier topic is listed twice');
    }
    if (names.includes(r.deadLetter.name) || r.tiers.some((t) => t.name === r.deadLetter.name)) {
      problems.push(`retry.deadLetter: ${r.deadLetter.name} is also consumed by this consumer`);
    }
  }
  if (o.deadLetter && names.includes(o.deadLetter.name)) {
    problems.push(`deadLetter: ${o.deadLetter.name} is also consumed by this consumer`);
  }
  return problems;
}
