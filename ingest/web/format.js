/**
 * Words and numbers for people: status labels, byte sizes, failure explanations. Pure
 * functions, no DOM.
 */

/** Request statuses (aggregator) and image statuses, as a person reads them. */
const STATUS_LABELS = {
  PENDING: 'Queued',
  PROCESSING: 'Processing',
  COMPLETED: 'Completed',
  COMPLETED_WITH_ERRORS: 'Completed with errors',
  FAILED: 'Failed',
  COMPRESSED: 'Compressed',
};

export const FINAL_STATUSES = new Set(['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

export const statusLabel = (status) => STATUS_LABELS[status] ?? String(status);

/**
 * What each per-image failure code (schemas' FAILURE_CODES) means and what to do about it. The
 * API's own failure_message is shown next to it: it names the status code, host or limit.
 */
const FAILURE_HELP = {
  HTTP_NOT_FOUND:
    'The image URL answered "not found": there is no image at that address. Check the URL in your CSV.',
  HTTP_CLIENT_ERROR:
    'The image server refused the download (for example 401 or 403: a login, a signed URL that expired, or bot protection). Make the image publicly readable.',
  HTTP_SERVER_ERROR:
    'The image server kept failing (5xx) through every retry. Try again later or ask the site owner.',
  TIMEOUT: 'The image server was too slow to connect or to send the image, even after retries.',
  DNS_FAILURE: 'The host name in the URL does not exist. Check the domain for typos.',
  CONNECTION_FAILED: 'The image server could not be reached (connection refused or reset).',
  BLOCKED_ADDRESS:
    'The URL points at a private or internal network address, which imgpipe never fetches. Use a public URL.',
  TOO_MANY_REDIRECTS: 'The URL redirects too many times (a redirect loop?).',
  TOO_LARGE: 'The image file is larger than the download limit. Use a smaller original.',
  TOO_MANY_PIXELS:
    'The image has more pixels (width × height) than imgpipe decodes. Resize it before listing it.',
  UNSUPPORTED_FORMAT:
    'The file is not an image imgpipe reads (JPEG, PNG, WebP, GIF, AVIF or TIFF); it may be a web page or an SVG.',
  CORRUPT_IMAGE: 'The file looks like an image but is damaged or cut short.',
  RETRIES_EXHAUSTED:
    'A temporary problem (timeouts, server errors) lasted through every retry. Upload the image again later.',
  INTERNAL:
    'imgpipe itself failed on this image. Upload it again; if it keeps failing, tell the operator.',
};

export const failureHelp = (code) => FAILURE_HELP[code] ?? 'The image could not be processed.';

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". Binary units, as the API's limits are stated. */
export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${bytes < 0 ? '−' : ''}${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** 45.5 → "45.5 %"; whole numbers without a decimal. */
export const formatPercent = (percent) =>
  `${Number.isInteger(percent) ? percent : percent.toFixed(1)} %`;

/** Bytes saved by compression, absolute and relative to the input. */
export function savings(bytesIn, bytesOut) {
  if (!bytesIn) return { bytes: 0, percent: 0 };
  const saved = bytesIn - bytesOut;
  return { bytes: saved, percent: Math.round((saved / bytesIn) * 1000) / 10 };
}

export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** An ISO timestamp in the reader's locale and time zone. */
export const formatTime = (iso) => timeFormat.format(new Date(iso));

/** 83_000 → "1 min 23 s". */
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
