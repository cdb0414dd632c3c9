import {
  PRODUCTION_RETRY_DELAYS_MS,
  attemptBucket,
  createSchedule,
  minDelayMs,
  nextDelayMs,
} from './schedule';

describe('retry schedule', () => {
  const production = createSchedule();

  it('is the Standard Webhooks example: 10 attempts over ~75.6 h', () => {
    expect(production.maxAttempts).toBe(10);
    const total = PRODUCTION_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
    expect(total).toBe(((75 * 60 + 35) * 60 + 5) * 1000);
  });

  it('jitters each wait within ±20 %', () => {
    expect(nextDelayMs(production, 1, () => 0)).toBe(4_000);
    expect(nextDelayMs(production, 1, () => 0.5)).toBe(5_000);
    expect(nextDelayMs(production, 1, () => 0.999999)).toBe(6_000);
    for (let i = 0; i < 200; i++) {
      const d = nextDelayMs(production, 3)!;
      expect(d).toBeGreaterThanOrEqual(24 * 60_000);
      expect(d).toBeLessThanOrEqual(36 * 60_000);
    }
    expect(minDelayMs(production, 9)).toBe(69_120_000);
  });

  it('has no wait after the last attempt', () => {
    expect(nextDelayMs(production, 10)).toBeUndefined();
    expect(minDelayMs(production, 10)).toBeUndefined();
    const short = createSchedule([1_000, 1_000], 0);
    expect(short.maxAttempts).toBe(3);
    expect(nextDelayMs(short, 2)).toBe(1_000);
    expect(nextDelayMs(short, 3)).toBeUndefined();
  });

  it('rejects nonsense', () => {
    expect(() => createSchedule([1_000], 1)).toThrow(RangeError);
    expect(() => createSchedule([-1])).toThrow(RangeError);
    expect(() => createSchedule([1.5])).toThrow(RangeError);
  });

  it('buckets attempts into four labels', () => {
    expect([1, 2, 3, 4, 6, 7, 10].map(attemptBucket)).toEqual([
      '1',
      '2-3',
      '2-3',
      '4-6',
      '4-6',
      '7+',
      '7+',
    ]);
  });
});
