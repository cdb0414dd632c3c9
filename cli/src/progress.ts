/**
 * Progress while `upload --wait` polls: the rate/ETA estimate (pure) and the renderer port
 * with its plain-lines implementation for logs and CI (stderr not a terminal). The redrawn
 * bar for terminals is progress-bar.ts, the only cli-progress importer.
 */
import type { StatusBody } from './api';
import { finishedCount, formatEta, formatRate } from './format';

export interface Estimate {
  /** Images finished per second over the recent window; undefined until measurable. */
  ratePerSecond?: number;
  /** Seconds until every image is final at that rate; 0 when none is left. */
  etaSeconds?: number;
}

/** Renders progress somewhere (a redrawn bar, or occasional lines). */
export interface ProgressView {
  /** A fresh status poll. */
  update(status: StatusBody): void;
  /** A message (warning) that must stay readable next to the progress output. */
  note(line: string): void;
  /** Last drawing done; restores the terminal. Idempotent. */
  stop(): void;
}

export const RATE_WINDOW_MS = 30_000;
/** Below this much elapsed time a rate is noise (one poll apart). */
const MIN_RATE_SPAN_MS = 1_000;

/**
 * Rate over a sliding window rather than since the start: a request speeds up once the
 * processors are warm and slows on a slow origin, and the ETA should follow what is happening
 * now. Samples outside the window are dropped, but the oldest is kept until a newer one is old
 * enough to replace it, so there is always a span to measure over.
 */
export function createRateTracker(windowMs = RATE_WINDOW_MS) {
  let samples: { at: number; done: number }[] = [];
  return {
    sample(done: number, total: number, now: number): Estimate {
      const last = samples[samples.length - 1];
      // Counts only grow; a smaller one means another request's numbers or a reset: start over.
      if (last && done < last.done) samples = [];
      samples.push({ at: now, done });
      while (samples.length > 2 && samples[1]!.at <= now - windowMs) samples.shift();
      const remaining = Math.max(0, total - done);
      const first = samples[0]!;
      const span = now - first.at;
      if (span < MIN_RATE_SPAN_MS) return remaining === 0 ? { etaSeconds: 0 } : {};
      const ratePerSecond = (done - first.done) / (span / 1000);
      if (remaining === 0) return { ratePerSecond, etaSeconds: 0 };
      return ratePerSecond > 0
        ? { ratePerSecond, etaSeconds: remaining / ratePerSecond }
        : { ratePerSecond };
    },
  };
}

/** "PROCESSING 41.6 % | 5/12 images, 1 failed | 2.5 images/s | ETA 3s". */
export function progressLine(s: StatusBody, estimate: Estimate): string {
  const p = s.progress;
  return `${s.status} ${p.percent} % | ${finishedCount(p)}/${p.total} images, ${p.failed} failed | ${formatRate(estimate.ratePerSecond)} | ETA ${formatEta(estimate.etaSeconds)}`;
}

/** Plain lines: at most one every this often while the numbers move (a log is not a screen). */
export const LINE_INTERVAL_MS = 10_000;

interface Printed {
  at: number;
  status: string;
  finished: number;
}

/**
 * Whether the plain-lines view prints this poll: the first one, every status change
 * (PENDING → PROCESSING → final), and otherwise at most every `intervalMs` when the count moved.
 */
export function shouldPrintLine(
  last: Printed | undefined,
  next: { status: string; finished: number },
  now: number,
  intervalMs = LINE_INTERVAL_MS,
): boolean {
  if (!last) return true;
  if (last.status !== next.status) return true;
  return next.finished !== last.finished && now - last.at >= intervalMs;
}

/** Progress as occasional lines, for a stderr that is not a terminal (CI logs, redirects). */
export function createLineView(options: {
  write: (text: string) => void;
  now: () => number;
  intervalMs?: number;
}): ProgressView {
  const tracker = createRateTracker();
  let last: Printed | undefined;
  return {
    update(s) {
      const now = options.now();
      const finished = finishedCount(s.progress);
      const estimate = tracker.sample(finished, s.progress.total, now);
      if (!shouldPrintLine(last, { status: s.status, finished }, now, options.intervalMs)) return;
      last = { at: now, status: s.status, finished };
      options.write(`${progressLine(s, estimate)}\n`);
    },
    note(line) {
      options.write(`${line}\n`);
    },
    stop() {},
  };
}
