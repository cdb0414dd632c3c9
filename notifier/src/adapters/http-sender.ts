import { performance } from 'node:perf_hooks';
import {
  assertHostAllowed,
  createGuardedLookup,
  errorCode,
  type AllowList,
} from '@imgpipe/platform';
import { Agent, request } from 'undici';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../domain/ports';

export interface HttpSenderOptions {
  /** Private-address allow-list (FETCH_ALLOW_CIDRS); empty in production. */
  allow: AllowList;
  /** TCP (+TLS) connect timeout; Standard Webhooks / issue 7: 5 s. */
  connectTimeoutMs: number;
  /** The whole attempt, response body included; Standard Webhooks: 15–30 s, we use 15 s. */
  attemptTimeoutMs: number;
  /** Sockets kept per origin (throughput to one busy receiver). */
  connectionsPerOrigin?: number;
}

export interface HttpSender extends WebhookSender {
  close(): Promise<void>;
}

/** We read at most this much of a receiver's reply (only the status matters). */
const MAX_RESPONSE_BYTES = 64 * 1024;

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

const header = (value: string | string[] | undefined): string | null =>
  Array.isArray(value) ? (value[0] ?? null) : (value ?? null);

/**
 * Webhook POSTs over undici with the shared private-address guard: IP-literal hosts are checked
 * before dialling, names by the guarded `lookup` on the addresses actually connected to (no DNS
 * rebinding window). Redirects are never followed (undici's default without the redirect
 * interceptor). Delivery problems come back as results; the promise rejects only when the
 * caller's `signal` aborts (shutdown).
 */
export function createHttpSender(options: HttpSenderOptions): HttpSender {
  const agent = new Agent({
    connect: { timeout: options.connectTimeoutMs, lookup: createGuardedLookup(options.allow) },
    headersTimeout: options.attemptTimeoutMs,
    bodyTimeout: options.attemptTimeoutMs,
    connections: options.connectionsPerOrigin ?? 32,
    // Receivers often close idle sockets after 5 s; reuse only within that window.
    keepAliveTimeout: 4_000,
  });

  return {
    async post(req: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return {
          kind: 'error',
          error: 'invalid_url',
          message: 'not an absolute URL',
          latencyMs: 0,
        };
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return {
          kind: 'error',
          error: 'invalid_url',
          message: `scheme ${url.protocol} not allowed`,
          latencyMs: 0,
        };
      }
      try {
        assertHostAllowed(url.hostname, options.allow);
      } catch (err) {
        return { kind: 'error', error: 'blocked', message: (err as Error).message, latencyMs: 0 };
      }
      const deadline = AbortSignal.timeout(options.attemptTimeoutMs);
      const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
      try {
        const res = await request(url, {
          method: 'POST',
          headers: req.headers,
          body: req.body,
          dispatcher: agent,
          signal: combined,
        });
        // The body counts towards the attempt (a receiver trickling it is still a timeout).
        await res.body.dump({ limit: MAX_RESPONSE_BYTES, signal: combined });
        return {
          kind: 'response',
          status: res.statusCode,
          retryAfter: header(res.headers['retry-after']),
          latencyMs: elapsed(),
        };
      } catch (err) {
        if (signal?.aborted) throw err;
        const code = errorCode(err) ?? errorCode((err as { cause?: unknown }).cause);
        const name = (err as { name?: string }).name;
        if (code === 'ERR_BLOCKED_ADDRESS') {
          return {
            kind: 'error',
            error: 'blocked',
            message: (err as Error).message,
            latencyMs: elapsed(),
          };
        }
        if (
          deadline.aborted ||
          name === 'TimeoutError' ||
          (code !== undefined && TIMEOUT_CODES.has(code))
        ) {
          return {
            kind: 'error',
            error: 'timeout',
            message:
              code === 'UND_ERR_CONNECT_TIMEOUT'
                ? `connect timed out after ${options.connectTimeoutMs} ms`
                : `no complete response within ${options.attemptTimeoutMs} ms`,
            latencyMs: elapsed(),
          };
        }
        return {
          kind: 'error',
          error: 'network',
          message: `${code ?? name ?? 'error'}: ${(err as Error).message}`,
          latencyMs: elapsed(),
        };
      }
    },
    close: () => agent.close(),
  };
}
