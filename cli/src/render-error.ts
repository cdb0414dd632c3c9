/**
 * Failures as text for stderr. The 4xx bodies' `error.details` are listed one problem per
 * line, in the shapes ingest documents (ingest/src/domain/errors.ts): CSV problems
 * `{ line, column, value, problem }` and form-field problems `{ field, value, problem }`;
 * other details (the aggregator's `{ request_id }`, a 409's status) as `key: value` lines.
 */
import type { ApiFailure } from './api';

/** The CLI option behind each form field / header, so a problem names what the user typed. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = {
  webhook_url: '--webhook',
  email: '--email',
  quality: '--quality',
  format: '--format',
  max_dimension: '--max-dimension',
  'Idempotency-Key': '--idempotency-key',
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const text = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);

const valueSuffix = (value: unknown): string =>
  value === null || value === undefined || value === '' ? '' : ` (value: ${JSON.stringify(value)})`;

/** One problem of a details list. */
export function problemLine(item: unknown): string {
  if (!isRecord(item)) return text(item);
  const problem = text(item.problem ?? item.message ?? JSON.stringify(item));
  if ('line' in item || 'column' in item) {
    const where =
      typeof item.line === 'number'
        ? `line ${item.line}${typeof item.column === 'number' ? `, column ${item.column}` : ''}`
        : typeof item.column === 'number'
          ? `column ${item.column}`
          : 'file';
    return `${where}: ${problem}${valueSuffix(item.value)}`;
  }
  if (typeof item.field === 'string') {
    const option = OPTION_OF_FIELD[item.field];
    return `${item.field}${option ? ` (${option})` : ''}: ${problem}${valueSuffix(item.value)}`;
  }
  return Object.entries(item)
    .map(([k, v]) => `${k}: ${text(v)}`)
    .join(', ');
}

/** `error.details` as indented lines (empty when there are none). */
export function detailLines(details: unknown): string[] {
  if (details === undefined || details === null) return [];
  if (Array.isArray(details)) return details.map((d) => `  ${problemLine(d)}`);
  if (isRecord(details)) return Object.entries(details).map(([k, v]) => `  ${k}: ${text(v)}`);
  return [`  ${text(details)}`];
}

/**
 * Every line to print for a failure. `baseUrl` is what the user pointed the CLI at (named in
 * network errors, because a wrong --url/IMGPIPE_URL is the usual cause).
 */
export function renderFailure(failure: ApiFailure, baseUrl: string): string[] {
  switch (failure.kind) {
    case 'aborted':
      return ['interrupted'];
    case 'network':
      return [
        `cannot reach imgpipe at ${baseUrl} (${failure.url}): ${failure.reason}`,
        'Is imgpipe running there? Point the CLI at it with --url or IMGPIPE_URL.',
      ];
    case 'protocol':
      return [
        `unexpected answer from ${failure.url} (HTTP ${failure.status}): ${failure.reason}`,
        `Is ${baseUrl} an imgpipe base URL?`,
      ];
    case 'http': {
      const lines = [`${failure.code} (HTTP ${failure.status}): ${failure.message}`];
      lines.push(...detailLines(failure.details));
      if (failure.retryAfterSeconds !== undefined)
        lines.push(`imgpipe asks to retry after ${failure.retryAfterSeconds} s.`);
      if (!failure.imgpipeShape)
        lines.push(
          `${failure.url} did not answer like imgpipe; is ${baseUrl} an imgpipe base URL?`,
        );
      return lines;
    }
  }
}

/**
 * A failed command as stderr lines: `imgpipe: <action> rejected: <first line>` for a 4xx,
 * `imgpipe: <action> failed: …` otherwise, then the rest (details, hints).
 */
export function reportLines(action: string, failure: ApiFailure, baseUrl: string): string[] {
  const [first = '', ...rest] = renderFailure(failure, baseUrl);
  const verb = failure.kind === 'http' && failure.status < 500 ? 'rejected' : 'failed';
  return [`imgpipe: ${action} ${verb}: ${first}`, ...rest];
}
