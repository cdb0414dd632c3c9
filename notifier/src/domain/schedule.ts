/**
 * The retry schedule. Production follows the Standard Webhooks example: attempt 1 at once, then
 * waits of 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (10 attempts over ≈ 3.15
 * days), each wait jittered by ±20 % so a receiver that comes back is not hit by every
 * delivery at the same instant. The waits are configuration (WEBHOOK_RETRY_DELAYS_MS) so
 * tests run the whole sequence in seconds; the number of waits is bounded by the delay tier
 * topics that carry them (NOTIFICATION_RETRY_TIERS).
 */
export const PRODUCTION_RETRY_DELAYS_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  14 * 3_600_000,
  20 * 3_600_000,
  24 * 3_600_000,
];

export const DEFAULT_JITTER = 0.2;

export interface RetrySchedule {
  /** Wait before attempt n+1, for n = 1..delaysMs.length. */
  readonly delaysMs: readonly number[];
  /** Relative jitter: each wait is drawn uniformly from [d·(1-j), d·(1+j)]. */
  readonly jitter: number;
  /** delaysMs.length + 1. */
  readonly maxAttempts: number;
}

export function createSchedule(
  delaysMs: readonly number[] = PRODUCTION_RETRY_DELAYS_MS,
  jitter = DEFAULT_JITTER,
): RetrySchedule {
  if (jitter < 0 || jitter >= 1) throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  if (delaysMs.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new RangeError(
      `retry delays must be non-negative integers (ms), got ${delaysMs.join(',')}`,
    );
  }
  return Object.freeze({
    delaysMs: Object.freeze([...delaysMs]),
    jitter,
    maxAttempts: delaysMs.length + 1,
  });
}

/** The shortest wait the schedule can choose after `attempt` (the lower jitter bound). */
export function minDelayMs(schedule: RetrySchedule, attempt: number): number | undefined {
  const base = schedule.delaysMs[attempt - 1];
  return base === undefined ? undefined : Math.floor(base * (1 - schedule.jitter));
}

/**
 * The wait after attempt `attempt` failed, jittered; `undefined` when that was the last attempt.
 * `random` returns [0, 1) (Math.random by default; tests pass a fixed one).
 */
export function nextDelayMs(
  schedule: RetrySchedule,
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule.delaysMs[attempt - 1];
  if (base === undefined) return undefined;
  const factor = 1 - schedule.jitter + 2 * schedule.jitter * random();
  return Math.round(base * factor);
}

/** Low-cardinality label for metrics: attempts 1, 2–3, 4–6, 7+. */
export function attemptBucket(attempt: number): '1' | '2-3' | '4-6' | '7+' {
  if (attempt <= 1) return '1';
  if (attempt <= 3) return '2-3';
  if (attempt <= 6) return '4-6';
  return '7+';
}
