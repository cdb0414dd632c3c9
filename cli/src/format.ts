/** Pure text formatting for people: sizes, durations, rates, status summaries. */
import type { ImageStatus, ProductStatus, Progress, StatusBody } from './api';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; three significant digits at most, bytes below 1 KiB exactly. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]!}`;
}

/** Seconds → "42s", "1m05s", "2h03m", "3d04h": two units at most, as a glance needs. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/**
 * Images per second → "12 images/s", "2.5 images/s", or per minute below one a second (a
 * slow origin: "0.2 images/s" reads worse than "12 images/min"). Unknown → "– images/s".
 */
export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond) || perSecond < 0) return '– images/s';
  if (perSecond >= 10) return `${Math.round(perSecond)} images/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)} images/s`;
  return `${Math.round(perSecond * 60)} images/min`;
}

/** ETA text: "–" while no rate is known, "0s" when nothing is left. */
export const formatEta = (seconds: number | undefined): string =>
  seconds === undefined ? '–' : formatDuration(seconds);

/** "62.4 %" saved of the input bytes, or undefined when nothing was measured yet. */
export function savedPercent(bytesIn: number, bytesOut: number): string | undefined {
  if (!(bytesIn > 0)) return undefined;
  return `${((1 - bytesOut / bytesIn) * 100).toFixed(1)} %`;
}

/** "1.2 MiB in → 455 KiB out (saved 62.4 %)". */
export function formatBytesLine(bytesIn: number, bytesOut: number): string {
  const saved = savedPercent(bytesIn, bytesOut);
  return `${formatBytes(bytesIn)} in → ${formatBytes(bytesOut)} out${saved ? ` (saved ${saved})` : ''}`;
}

export const finishedCount = (p: Progress): number => p.compressed + p.failed;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "8 compressed, 1 failed, 3 pending of 12 images". */
export const formatCounts = (p: Progress): string =>
  `${p.compressed} compressed, ${p.failed} failed, ${p.pending} pending of ${plural(p.total, 'image')}`;

/** Seconds between two ISO timestamps of the status body, when both are there. */
export function elapsedSeconds(from: string | null, to: string | null): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
}

/** The summary printed when `upload --wait` sees the request finish. */
export function finalSummaryLines(s: StatusBody): string[] {
  const took = elapsedSeconds(s.created_at, s.completed_at);
  const lines = [
    `${s.status}: ${s.progress.compressed} compressed, ${s.progress.failed} failed of ${plural(s.progress.total, 'image')}${took === undefined ? '' : ` in ${formatDuration(took)}`}`,
    `bytes: ${formatBytesLine(s.bytes_in, s.bytes_out)}`,
  ];
  if (s.failure_reason) lines.push(`reason: ${s.failure_reason}`);
  return lines;
}

/** `imgpipe status <id>`: one "label  value" line per fact, labels aligned. */
export function statusSummaryLines(s: StatusBody): string[] {
  const rows: [string, string][] = [
    ['request', s.request_id],
    ['status', s.status],
    ['progress', `${s.progress.percent} % (${formatCounts(s.progress)})`],
    ['bytes', formatBytesLine(s.bytes_in, s.bytes_out)],
  ];
  if (s.options) {
    const o = s.options;
    rows.push([
      'options',
      `quality ${o.quality}, format ${o.format}, max dimension ${o.max_dimension ?? 'none (keep size)'}`,
    ]);
  }
  if (s.failure_reason) rows.push(['reason', s.failure_reason]);
  if (s.created_at) rows.push(['created', s.created_at]);
  if (s.completed_at) {
    const took = elapsedSeconds(s.created_at, s.completed_at);
    rows.push([
      'completed',
      `${s.completed_at}${took === undefined ? '' : ` (took ${formatDuration(took)})`}`,
    ]);
  }
  if (s.webhook) {
    const w = s.webhook;
    rows.push([
      'webhook',
      `${w.state} (${plural(w.attempts, 'attempt')}${w.last_status_code === null ? '' : `, last answer ${w.last_status_code}`})`,
    ]);
  }
  if (s.output_csv_url) rows.push(['output CSV', s.output_csv_url]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/** One image of `status --images`: what happened to it and where the result is. */
export function imageLine(image: ImageStatus): string {
  if (image.status === 'COMPRESSED') {
    const size =
      image.bytes_in === null || image.bytes_out === null
        ? ''
        : ` ${formatBytes(image.bytes_in)} → ${formatBytes(image.bytes_out)}`;
    const dims = image.width && image.height ? ` ${image.width}×${image.height}` : '';
    return `  image ${image.position}  COMPRESSED${size}${image.format ? ` ${image.format}` : ''}${dims}  ${image.output_url ?? ''}`.trimEnd();
  }
  const why = [image.failure_code, image.failure_message].filter(Boolean).join(': ');
  return `  image ${image.position}  ${image.status}${why ? ` ${why}` : ''}  ${image.input_url}`;
}

/** A product heading of `status --images`. */
export const productLine = (p: ProductStatus): string =>
  `product ${p.position}  S. No. ${p.serial_number}  ${p.product_name}`;

/** A failed image in the `upload --wait` failure list. */
export const failedImageLine = (p: ProductStatus, image: ImageStatus): string =>
  `  product ${p.position} (S. No. ${p.serial_number}), image ${image.position}: ${[image.failure_code, image.failure_message].filter(Boolean).join(': ') || image.status} — ${image.input_url}`;
