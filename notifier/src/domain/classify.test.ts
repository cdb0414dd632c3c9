import { MAX_RETRY_AFTER_MS, classifyEmail, classifyWebhook, parseRetryAfter } from './classify';
import type { WebhookResponse } from './ports';

const now = Date.parse('2026-01-01T00:00:00Z');
const response = (status: number, retryAfter: string | null = null): WebhookResponse => ({
  kind: 'response',
  status,
  retryAfter,
  latencyMs: 3,
});

describe('classifyWebhook', () => {
  it.each([200, 201, 202, 204, 299])('%i is a success', (status) => {
    expect(classifyWebhook(response(status), now)).toMatchObject({
      verdict: { kind: 'success' },
      label: 'success',
      statusCode: status,
      error: null,
    });
  });

  it.each([301, 302, 307, 308])('%i is a failure, not followed, retried', (status) => {
    const c = classifyWebhook(response(status), now);
    expect(c.verdict).toEqual({ kind: 'retry', notBeforeMs: null });
    expect(c.label).toBe('http_3xx');
    expect(c.error).toMatch(/redirects are not followed/);
  });

  it('410 disables', () => {
    expect(classifyWebhook(response(410), now)).toMatchObject({
      verdict: { kind: 'disable' },
      label: 'http_4xx',
      statusCode: 410,
    });
  });

  it.each([
    [400, 'http_4xx'],
    [404, 'http_4xx'],
    [500, 'http_5xx'],
    [502, 'http_5xx'],
  ])('%i is retried on schedule', (status, label) => {
    expect(classifyWebhook(response(status, '120'), now)).toMatchObject({
      verdict: { kind: 'retry', notBeforeMs: null },
      label,
    });
  });

  it.each([429, 503])('%i honours Retry-After', (status) => {
    expect(classifyWebhook(response(status, '7'), now).verdict).toEqual({
      kind: 'retry',
      notBeforeMs: 7_000,
    });
    expect(classifyWebhook(response(status), now).verdict).toEqual({
      kind: 'retry',
      notBeforeMs: null,
    });
  });

  it('maps transport errors', () => {
    const err = (error: 'timeout' | 'network' | 'blocked' | 'invalid_url') =>
      classifyWebhook({ kind: 'error', error, message: 'm', latencyMs: 1 }, now);
    expect(err('timeout')).toMatchObject({ verdict: { kind: 'retry' }, label: 'timeout' });
    expect(err('network')).toMatchObject({ verdict: { kind: 'retry' }, label: 'network' });
    expect(err('blocked')).toMatchObject({ verdict: { kind: 'fail' }, label: 'blocked' });
    expect(err('invalid_url')).toMatchObject({ verdict: { kind: 'fail' }, label: 'blocked' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, caps at 24 h, ignores garbage', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('9999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('classifyEmail', () => {
  it('5xx is permanent, 4xx and transport errors retry', () => {
    expect(classifyEmail({ kind: 'sent', latencyMs: 1, response: '250 OK' }).verdict.kind).toBe(
      'success',
    );
    const e = (responseCode: number | null, error: 'rejected' | 'timeout' | 'network') =>
      classifyEmail({ kind: 'error', responseCode, error, message: 'x', latencyMs: 1 });
    expect(e(550, 'rejected')).toMatchObject({ verdict: { kind: 'fail' }, label: 'rejected' });
    expect(e(451, 'rejected')).toMatchObject({ verdict: { kind: 'retry' }, label: 'deferred' });
    expect(e(null, 'timeout')).toMatchObject({ verdict: { kind: 'retry' }, label: 'timeout' });
    expect(e(null, 'network')).toMatchObject({ verdict: { kind: 'retry' }, label: 'network' });
  });
});
