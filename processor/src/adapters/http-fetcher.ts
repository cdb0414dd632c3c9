/**
 * The safe downloader (issue 5, step 1; ../shared/notes/reliability.md §4.5), on undici.
 *
 * - http/https only, no credentials in the URL.
 * - Addresses vetted by the shared guard: IP-literal hosts before anything is sent, names at
 *   connect time through the guarded `lookup`, so the socket connects to exactly the address
 *   that was checked (no DNS-rebinding gap). Each redirect hop is vetted the same way.
 * - At most `maxRedirects` redirects; connect timeout; one deadline for the whole download
 *   (all hops and the body); the byte cap is enforced while streaming, whatever
 *   Content-Length says (or does not say).
 * - Every expected failure comes back as a coded Result; only the caller's abort throws.
 */
import { Agent, request, type Dispatcher } from 'undici';
import {
  assertHostAllowed,
  createGuardedLookup,
  errorCode,
  type AllowList,
} from '@imgpipe/platform';
import type { FailureCode } from '@imgpipe/schemas';
import { failed, ok, type Result } from '../domain/failure';
import type { FetchedImage, ImageFetcher } from '../domain/ports';

export interface HttpFetcherOptions {
  /** Re-admitted private ranges (FETCH_ALLOW_CIDRS); empty in production. */
  allow: AllowList;
  connectTimeoutMs: number;
  /** Deadline for the whole download: every redirect hop, headers and body. */
  totalTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  userAgent?: string;
}

export interface HttpFetcher extends ImageFetcher {
  /** Closes pooled connections. */
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MiB = 1024 * 1024;

/** Creates the downloader. One connection pool per fetcher; call `close()` on shutdown. */
export function createHttpFetcher(options: HttpFetcherOptions): HttpFetcher {
  const dispatcher = new Agent({
    connect: { lookup: createGuardedLookup(options.allow), timeout: options.connectTimeoutMs },
    // The overall deadline is ours; these only stop a silent peer from outliving it.
    headersTimeout: options.totalTimeoutMs,
    bodyTimeout: options.totalTimeoutMs,
    keepAliveTimeout: 4_000,
  });
  const headers = {
    'user-agent': options.userAgent ?? 'imgpipe-processor/0.1 (+image compression)',
    accept: 'image/avif,image/webp,image/png,image/jpeg,image/gif,image/tiff;q=0.9,*/*;q=0.1',
    // No accept-encoding: a compressed transfer would defeat the streamed byte cap.
  };

  async function fetchImage(rawUrl: string, signal: AbortSignal): Promise<Result<FetchedImage>> {
    signal.throwIfAborted();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), options.totalTimeoutMs);
    const forward = () => deadline.abort();
    signal.addEventListener('abort', forward, { once: true });
    try {
      return await follow(rawUrl, deadline.signal);
    } catch (err) {
      // Our caller stopping is not an image failure: let it abandon the work.
      signal.throwIfAborted();
      if (deadline.signal.aborted) {
        return failed(
          'TIMEOUT',
          `Download did not finish within ${seconds(options.totalTimeoutMs)}`,
          {
            transient: true,
          },
        );
      }
      return classifyError(err, options);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', forward);
    }
  }

  async function follow(rawUrl: string, signal: AbortSignal): Promise<Result<FetchedImage>> {
    let url: URL;
    let redirects = 0;
    const checked = checkUrl(rawUrl, options.allow);
    if (!checked.ok) return checked;
    url = checked.value;

    for (;;) {
      const response = await request(url, {
        method: 'GET',
        headers,
        signal,
        dispatcher,
      });
      const status = response.statusCode;

      if (REDIRECTS.has(status)) {
        await discard(response.body);
        const location = header(response.headers, 'location');
        if (location === undefined) {
          return failed('HTTP_CLIENT_ERROR', `Origin answered ${status} without a Location`, {
            httpStatus: status,
          });
        }
        redirects += 1;
        if (redirects > options.maxRedirects) {
          return failed(
            'TOO_MANY_REDIRECTS',
            `More than ${options.maxRedirects} redirects (stopped at ${status} from ${url.host})`,
            { httpStatus: status },
          );
        }
        const next = checkUrl(location, options.allow, url);
        if (!next.ok) return next;
        url = next.value;
        continue;
      }

      if (status < 200 || status >= 300) {
        await discard(response.body);
        return statusFailure(status, header(response.headers, 'retry-after'));
      }

      const declared = Number(header(response.headers, 'content-length'));
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        response.body.destroy();
        return tooLarge(options.maxBytes, `declared ${declared} bytes`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        total += buf.length;
        if (total > options.maxBytes) {
          response.body.destroy();
          return tooLarge(options.maxBytes, 'body kept coming');
        }
        chunks.push(buf);
      }
      return ok({ bytes: Buffer.concat(chunks, total), httpStatus: status, finalUrl: url.href });
    }
  }

  return {
    fetch: fetchImage,
    close: () => dispatcher.close(),
  };
}

/** Scheme, credentials and IP-literal checks for the first URL and every redirect target. */
function checkUrl(raw: string, allow: AllowList, base?: URL): Result<URL> {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    return failed('BLOCKED_ADDRESS', `Not a valid URL${base ? ' in redirect Location' : ''}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return failed(
      'BLOCKED_ADDRESS',
      `Only http and https URLs are fetched (got ${url.protocol.replace(/:$/, '')}${base ? ' in a redirect' : ''})`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    return failed('BLOCKED_ADDRESS', 'URLs with credentials are not fetched');
  }
  try {
    assertHostAllowed(url.hostname, allow);
  } catch (err) {
    return failed('BLOCKED_ADDRESS', (err as Error).message);
  }
  return ok(url);
}

function statusFailure(status: number, retryAfter: string | undefined): Result<FetchedImage> {
  if (status === 404 || status === 410) {
    return failed('HTTP_NOT_FOUND', `Origin answered ${status}: the image does not exist`, {
      httpStatus: status,
    });
  }
  const retryAfterMs = parseRetryAfter(retryAfter);
  const extra = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 429 || status === 408) {
    return failed('HTTP_CLIENT_ERROR', `Origin answered ${status}; will retry later`, {
      transient: true,
      httpStatus: status,
      ...extra,
    });
  }
  if (status >= 500) {
    return failed('HTTP_SERVER_ERROR', `Origin answered ${status}`, {
      transient: true,
      httpStatus: status,
      ...extra,
    });
  }
  return failed('HTTP_CLIENT_ERROR', `Origin answered ${status}`, { httpStatus: status });
}

/** Network-level errors, by code (undici's and Node's), never by message text. */
function classifyError(err: unknown, options: HttpFetcherOptions): Result<FetchedImage> {
  const code = errorCode(err) ?? errorCode((err as { cause?: unknown }).cause);
  const detail = (err as Error).message;
  const is = (c: FailureCode, message: string, transient: boolean) =>
    failed<FetchedImage>(c, message, { transient });
  switch (code) {
    case 'ERR_BLOCKED_ADDRESS':
      return is('BLOCKED_ADDRESS', detail, false);
    case 'ENOTFOUND':
    case 'ENODATA':
      return is('DNS_FAILURE', `Host not found (${code})`, false);
    case 'EAI_AGAIN':
    case 'ESERVFAIL':
    case 'ETIMEOUT':
      return is('DNS_FAILURE', `DNS lookup failed temporarily (${code})`, true);
    case 'UND_ERR_CONNECT_TIMEOUT':
      return is('TIMEOUT', `Could not connect within ${seconds(options.connectTimeoutMs)}`, true);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return is(
        'TIMEOUT',
        `Download did not finish within ${seconds(options.totalTimeoutMs)}`,
        true,
      );
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return is('CONNECTION_FAILED', 'The connection closed before the body was complete', true);
    default:
      if (code !== undefined && /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code)) {
        return is('CONNECTION_FAILED', `TLS failure (${code})`, false);
      }
      return is('CONNECTION_FAILED', `Connection failed (${code ?? detail})`, true);
  }
}

const tooLarge = (maxBytes: number, why: string) =>
  failed<FetchedImage>('TOO_LARGE', `Image is larger than ${maxBytes / MiB} MiB (${why})`);

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Releases a body we do not want without reading a hostile amount of it. */
async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: 64 * 1024 });
  } catch {
    // Nothing to recover: the connection is simply not reused.
  }
}

const seconds = (ms: number) => `${ms / 1000} s`;
