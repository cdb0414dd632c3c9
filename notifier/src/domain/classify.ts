import type { EmailOutcomeLabel, EmailResult, WebhookOutcomeLabel, WebhookResponse } from './ports';

/** What one attempt means for its delivery sequence. */
export type Verdict =
  | { kind: 'success' }
  /** Try again on schedule, and not before `notBeforeMs` from now when the receiver said so. */
  | { kind: 'retry'; notBeforeMs: number | null }
  /** 410 Gone: the receiver asked us to stop for good. */
  | { kind: 'disable' }
  /** Permanent: retrying cannot help (blocked address, invalid URL, mailbox rejected). */
  | { kind: 'fail' };

export interface Classified<L extends string> {
  verdict: Verdict;
  label: L;
  statusCode: number | null;
  /** Short human text for the delivery log; null on success. */
  error: string | null;
}

/** Longest Retry-After we honour: a year-long value must not park a delivery forever. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns the wait in
 * ms (capped at 24 h), or null when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // An HTTP-date names a weekday and month; bare numbers like "-5" are not dates.
    const at = /^[A-Za-z]{3}, /.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

/**
 * Standard Webhooks delivery rules: only 2xx succeeds; 3xx is a failure (redirects are never
 * followed, they could point anywhere); 410 disables; 429/503 carry Retry-After; every other
 * status, a timeout or a network error is retried on schedule; a blocked address is permanent.
 */
export function classifyWebhook(
  response: WebhookResponse,
  nowMs: number,
): Classified<WebhookOutcomeLabel> {
  if (response.kind === 'error') {
    switch (response.error) {
      case 'blocked':
        return {
          verdict: { kind: 'fail' },
          label: 'blocked',
          statusCode: null,
          error: response.message,
        };
      case 'invalid_url':
        return {
          verdict: { kind: 'fail' },
          label: 'blocked',
          statusCode: null,
          error: response.message,
        };
      case 'timeout':
        return {
          verdict: { kind: 'retry', notBeforeMs: null },
          label: 'timeout',
          statusCode: null,
          error: response.message,
        };
      default:
        return {
          verdict: { kind: 'retry', notBeforeMs: null },
          label: 'network',
          statusCode: null,
          error: response.message,
        };
    }
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    return { verdict: { kind: 'success' }, label: 'success', statusCode: status, error: null };
  }
  if (status === 410) {
    return {
      verdict: { kind: 'disable' },
      label: 'http_4xx',
      statusCode: status,
      error: 'HTTP 410 Gone: the receiver asked to stop deliveries',
    };
  }
  const honoured =
    status === 429 || status === 503 ? parseRetryAfter(response.retryAfter, nowMs) : null;
  const label: WebhookOutcomeLabel =
    status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : 'http_3xx';
  const text =
    status >= 300 && status < 400
      ? `HTTP ${status}: redirects are not followed`
      : `HTTP ${status}${honoured === null ? '' : ` (Retry-After ${Math.round(honoured / 1000)} s)`}`;
  return {
    verdict: { kind: 'retry', notBeforeMs: honoured },
    label,
    statusCode: status,
    error: text,
  };
}

/** SMTP: 5xx replies are permanent (RFC 5321 §4.2.1); 4xx, timeouts and network errors retry. */
export function classifyEmail(result: EmailResult): Classified<EmailOutcomeLabel> {
  if (result.kind === 'sent') {
    return { verdict: { kind: 'success' }, label: 'success', statusCode: 250, error: null };
  }
  const code = result.responseCode;
  if (code !== null && code >= 500 && code < 600) {
    return {
      verdict: { kind: 'fail' },
      label: 'rejected',
      statusCode: code,
      error: result.message,
    };
  }
  const label: EmailOutcomeLabel =
    code !== null ? 'deferred' : result.error === 'timeout' ? 'timeout' : 'network';
  return {
    verdict: { kind: 'retry', notBeforeMs: null },
    label,
    statusCode: code,
    error: result.message,
  };
}
