import type { StatusBody } from './api';
import { progressOf } from './testing/fixtures';
import { createLineView, createRateTracker, progressLine, shouldPrintLine } from './progress';

const at = (status: string, compressed: number, failed: number, total = 10): StatusBody => ({
  request_id: 'r',
  status,
  progress: progressOf(total, compressed, failed),
  created_at: null,
  updated_at: null,
  completed_at: null,
  bytes_in: 0,
  bytes_out: 0,
});

describe('rate and ETA', () => {
  it('has no rate until a second has passed, then measures over the window', () => {
    const t = createRateTracker(30_000);
    expect(t.sample(0, 100, 0)).toEqual({});
    expect(t.sample(1, 100, 500)).toEqual({});
    expect(t.sample(10, 100, 5_000)).toEqual({ ratePerSecond: 2, etaSeconds: 45 });
  });

  it('follows the recent rate, not the average since the start', () => {
    const t = createRateTracker(10_000);
    t.sample(0, 1000, 0);
    t.sample(10, 1000, 10_000); // 1/s for the first 10 s
    t.sample(110, 1000, 20_000); // then 10/s
    const e = t.sample(210, 1000, 30_000);
    expect(e.ratePerSecond).toBe(10);
    expect(e.etaSeconds).toBe(79);
  });

  it('gives ETA 0 when nothing is left, none while nothing moves, and restarts when counts drop', () => {
    const t = createRateTracker();
    t.sample(5, 5, 0);
    expect(t.sample(5, 5, 2_000)).toEqual({ ratePerSecond: 0, etaSeconds: 0 });
    const still = createRateTracker();
    still.sample(0, 5, 0);
    expect(still.sample(0, 5, 3_000)).toEqual({ ratePerSecond: 0 });
    expect(still.sample(0, 5, 3_000 + 1)).not.toHaveProperty('etaSeconds');
    const reset = createRateTracker();
    reset.sample(8, 10, 0);
    expect(reset.sample(2, 10, 5_000)).toEqual({});
  });
});

describe('plain progress lines', () => {
  it('prints the first poll, every status change, and otherwise at most every interval', () => {
    expect(shouldPrintLine(undefined, { status: 'PENDING', finished: 0 }, 0)).toBe(true);
    const last = { at: 0, status: 'PROCESSING', finished: 3 };
    expect(shouldPrintLine(last, { status: 'PROCESSING', finished: 4 }, 9_999, 10_000)).toBe(false);
    expect(shouldPrintLine(last, { status: 'PROCESSING', finished: 4 }, 10_000, 10_000)).toBe(true);
    expect(shouldPrintLine(last, { status: 'PROCESSING', finished: 3 }, 60_000, 10_000)).toBe(
      false,
    );
    expect(shouldPrintLine(last, { status: 'COMPLETED', finished: 3 }, 1, 10_000)).toBe(true);
  });

  it('writes lines with counts, rate and ETA, and notes as they come', () => {
    let now = 0;
    const out: string[] = [];
    const view = createLineView({ write: (t) => out.push(t), now: () => now, intervalMs: 10_000 });
    view.update(at('PENDING', 0, 0));
    now = 2_000;
    view.update(at('PROCESSING', 2, 0));
    now = 4_000;
    view.update(at('PROCESSING', 3, 1)); // same status, too soon: not printed
    view.note('warning: x');
    now = 12_000;
    view.update(at('PROCESSING', 6, 1));
    now = 13_000;
    view.update(at('COMPLETED_WITH_ERRORS', 9, 1));
    view.stop();
    expect(out).toEqual([
      'PENDING 0 % | 0/10 images, 0 failed | – images/s | ETA –\n',
      'PROCESSING 20 % | 2/10 images, 0 failed | 1.0 images/s | ETA 8s\n',
      'warning: x\n',
      'PROCESSING 70 % | 7/10 images, 1 failed | 35 images/min | ETA 5s\n',
      'COMPLETED_WITH_ERRORS 100 % | 10/10 images, 1 failed | 46 images/min | ETA 0s\n',
    ]);
  });

  it('progressLine reads the body as the API sends it', () => {
    expect(progressLine(at('PROCESSING', 1, 0, 3), { ratePerSecond: 12, etaSeconds: 1 })).toBe(
      'PROCESSING 33.3 % | 1/3 images, 0 failed | 12 images/s | ETA 1s',
    );
  });
});
