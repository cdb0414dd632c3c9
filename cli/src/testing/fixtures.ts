/** Builders the CLI's unit tests share. */
import type { Progress } from '../api';

/** A `progress` block as the aggregator computes it (percent to one decimal, rounded down). */
export const progressOf = (total: number, compressed: number, failed: number): Progress => ({
  total,
  compressed,
  failed,
  pending: total - compressed - failed,
  percent: Math.floor(((compressed + failed) * 1000) / total) / 10,
});
