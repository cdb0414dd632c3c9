/**
 * The redrawn progress bar for a terminal (cli-progress; the only file importing it). It draws
 * on stderr: stdout carries only the request id, so `id=$(imgpipe upload x.csv --wait)` works
 * while the bar shows.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { StatusBody } from './api';
import { finishedCount, formatEta, formatRate } from './format';
import { createRateTracker, type ProgressView } from './progress';

export function createBarView(options: {
  stream: NodeJS.WritableStream;
  now: () => number;
}): ProgressView {
  const tracker = createRateTracker();
  // A MultiBar with one bar, for its log(): a warning printed while the bar is drawn would
  // otherwise be overwritten by the next redraw.
  const bars = new MultiBar(
    {
      stream: options.stream,
      // Fits 80 columns (cli-progress cuts a longer line at the terminal's width).
      format:
        ' {bar} {percentage}% {value}/{total} images, {failed} failed | {rate} | ETA {etaText}{state}',
      hideCursor: true,
      // main.ts owns SIGINT (the request keeps running; it prints how to resume) and stops
      // the bar itself; cli-progress's own handler would race it.
      gracefulExit: false,
      barsize: 20,
      fps: 5,
    },
    Presets.shades_classic,
  );
  let bar: SingleBar | undefined;
  let stopped = false;
  const payload = (s: StatusBody) => {
    const estimate = tracker.sample(finishedCount(s.progress), s.progress.total, options.now());
    return {
      failed: s.progress.failed,
      rate: formatRate(estimate.ratePerSecond),
      etaText: formatEta(estimate.etaSeconds),
      // The status only while PENDING (nothing moves yet, say why); the summary names the end.
      state: s.status === 'PENDING' ? ' | PENDING' : '',
    };
  };
  return {
    update(s) {
      if (stopped) return;
      const done = finishedCount(s.progress);
      if (!bar) bar = bars.create(s.progress.total, done, payload(s));
      else {
        if (bar.getTotal() !== s.progress.total) bar.setTotal(s.progress.total);
        bar.update(done, payload(s));
      }
    },
    note(line) {
      if (stopped || !bar) options.stream.write(`${line}\n`);
      else bars.log(`${line}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}
