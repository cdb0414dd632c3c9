/**
 * The HTTP adapter of the {@link ImgpipeApi} port, on node:http/node:https.
 *
 * Not fetch: Node 20's fetch (undici 6) keeps a streamed request body in memory until the
 * request ends (nodejs/undici#4058; measured here: a 300 MB file posted as FormData with an
 * fs.openAsBlob part, or as a ReadableStream, grew RSS by the file's size, while node:http
 * piping fs.createReadStream stayed flat). So the multipart body is written by hand and the
 * CSV streamed from disk with backpressure. One HTTP stack for every call keeps one error path.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type {
  Accepted,
  ApiFailure,
  ApiResult,
  ImagesPageQuery,
  ImgpipeApi,
  StatusBody,
  UploadInput,
  Uploaded,
} from './api';

export interface HttpApiOptions {
  /** Validated base URL without a trailing slash (args.ts resolveBaseUrl). */
  baseUrl: string;
  userAgent: string;
  /**
   * Socket idle timeout: no byte either way for this long fails the call. Idle rather than
   * total, so a large upload or download on a slow link is not cut off while bytes flow.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Error bodies and status pages (1,000 images per page) are far smaller; a cap keeps a
 * misdirected --url (a server streaming something huge) from filling memory. */
const MAX_JSON_BYTES = 32 * 1024 * 1024;

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

class IdleTimeout extends Error {
  override readonly name = 'IdleTimeout';
}

/** A network error as a short reason: "connection refused (ECONNREFUSED)". */
export function describeNetworkError(err: unknown): string {
  if (err instanceof IdleTimeout) return err.message;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== 'string') return message;
  const known = NETWORK_REASONS[code];
  if (known) return `${known} (${code})`;
  if (/CERT|SSL|TLS/.test(code)) return `TLS problem: ${message} (${code})`;
  return message.includes(code) ? message : `${message} (${code})`;
}

/** Retry-After: delay-seconds or an HTTP date (RFC 9110 §10.2.3) → whole seconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : undefined;
}

/** A multipart header value: quotes and line breaks percent-encoded (WHATWG form encoding). */
const quoted = (s: string) =>
  s
    .replace(/"/g, '%22')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A')
    .replace(/[^\x20-\x7e]/g, '_');

/** The multipart/form-data body: fields first, then the CSV streamed from disk. */
export function multipartBody(input: UploadInput, boundary: string) {
  const head = [
    ...Object.entries(input.fields)
      .filter(([, v]) => v !== undefined)
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${String(value)}\r\n`,
      ),
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(input.csv.name)}"\r\nContent-Type: text/csv\r\n\r\n`,
  ].join('');
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const { path, size } = input.csv;
  return {
    length: headBytes.length + size + tailBytes.length,
    async *chunks(): AsyncIterable<Buffer> {
      yield headBytes;
      // `end` bounds the read to the size announced in Content-Length.
      if (size > 0)
        yield* createReadStream(path, { start: 0, end: size - 1 }) as AsyncIterable<Buffer>;
      yield tailBytes;
    },
  };
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) {
      res.destroy();
      throw new Error(`the answer is over ${MAX_JSON_BYTES / 1024 / 1024} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const excerpt = (s: string, max = 200) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function createHttpApi(options: HttpApiOptions): ImgpipeApi {
  const { baseUrl } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

  /** One request; resolves with the response (any status) or rejects with the network error. */
  function send(
    url: URL,
    init: {
      method: string;
      headers: OutgoingHttpHeaders;
      body?: AsyncIterable<Buffer>;
      signal?: AbortSignal;
    },
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const req = transport.request(url, {
        method: init.method,
        headers: { 'user-agent': options.userAgent, ...init.headers },
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.setTimeout(idleTimeoutMs, () =>
        req.destroy(new IdleTimeout(`no answer within ${idleTimeoutMs / 1000} s`)),
      );
      req.once('response', resolve);
      // `on`, not `once`: a second error (EPIPE after an early answer) must not go unhandled.
      req.on('error', reject);
      if (!init.body) {
        req.end();
        return;
      }
      const source = Readable.from(init.body);
      // pipe(), not pipeline(): ingest may answer (413, or a 4xx) before reading the whole
      // body and close the connection; the write error that follows must not destroy the
      // response already received. The answer decides; a write error without one rejects.
      source.on('error', (err) => req.destroy(err));
      req.on('close', () => source.destroy());
      source.pipe(req);
    });
  }

  async function call(
    path: string,
    init: Parameters<typeof send>[1],
  ): Promise<{ ok: true; res: IncomingMessage; url: string } | { ok: false; failure: ApiFailure }> {
    const url = new URL(`${baseUrl}${path}`);
    try {
      return { ok: true, res: await send(url, init), url: url.href };
    } catch (err) {
      if (init.signal?.aborted) return { ok: false, failure: { kind: 'aborted', url: url.href } };
      return {
        ok: false,
        failure: { kind: 'network', url: url.href, reason: describeNetworkError(err) },
      };
    }
  }

  /** A non-2xx answer as a failure, with imgpipe's error body when it is one. */
  async function httpFailure(res: IncomingMessage, url: string): Promise<ApiFailure> {
    const status = res.statusCode ?? 0;
    const retryAfter = parseRetryAfter(headerValue(res.headers['retry-after']));
    let text = '';
    try {
      text = await readText(res);
    } catch {
      // The status line is the news; a body cut short adds nothing.
    }
    const base = {
      kind: 'http' as const,
      url,
      status,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    };
    try {
      const body = JSON.parse(text) as {
        error?: { code?: unknown; message?: unknown; details?: unknown };
      };
      const e = body.error;
      if (e && typeof e.code === 'string' && typeof e.message === 'string') {
        return {
          ...base,
          code: e.code,
          message: e.message,
          ...(e.details === undefined ? {} : { details: e.details }),
          imgpipeShape: true,
        };
      }
    } catch {
      // Not JSON: described below.
    }
    const isHtml = /html/i.test(headerValue(res.headers['content-type']) ?? '');
    const shown = isHtml ? '' : excerpt(text.trim().replace(/\s+/g, ' '));
    return {
      ...base,
      code: `HTTP_${status}`,
      message: `${res.statusMessage ?? 'error'}${shown ? `: ${shown}` : ''}`,
      imgpipeShape: false,
    };
  }

  /** GET/POST returning JSON on 2xx, checked by `valid` (so a wrong --url is reported as such). */
  async function json<T>(
    path: string,
    init: Parameters<typeof send>[1],
    valid: (body: unknown) => body is T,
  ): Promise<ApiResult<{ body: T; res: IncomingMessage }>> {
    const sent = await call(path, {
      ...init,
      headers: { accept: 'application/json', ...init.headers },
    });
    if (!sent.ok) return sent;
    const { res, url } = sent;
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) return { ok: false, failure: await httpFailure(res, url) };
    let text: string;
    try {
      text = await readText(res);
    } catch (err) {
      if (init.signal?.aborted) return { ok: false, failure: { kind: 'aborted', url } };
      return { ok: false, failure: { kind: 'network', url, reason: describeNetworkError(err) } };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return {
        ok: false,
        failure: {
          kind: 'protocol',
          url,
          status,
          reason: `expected JSON, got ${excerpt(text.trim(), 80) || 'an empty body'}`,
        },
      };
    }
    if (!valid(body))
      return {
        ok: false,
        failure: { kind: 'protocol', url, status, reason: 'the JSON is not the documented shape' },
      };
    return { ok: true, value: { body, res } };
  }

  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null;
  const isAccepted = (b: unknown): b is Accepted => isObject(b) && typeof b.request_id === 'string';
  const isStatus = (b: unknown): b is StatusBody =>
    isObject(b) && typeof b.status === 'string' && isObject(b.progress);

  return {
    baseUrl,

    async upload(input, signal): Promise<ApiResult<Uploaded>> {
      const boundary = `imgpipe-${randomBytes(16).toString('hex')}`;
      const body = multipartBody(input, boundary);
      const result = await json(
        '/upload',
        {
          method: 'POST',
          headers: {
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': body.length,
            ...(input.idempotencyKey === undefined
              ? {}
              : { 'idempotency-key': input.idempotencyKey }),
          },
          body: body.chunks(),
          ...(signal ? { signal } : {}),
        },
        isAccepted,
      );
      if (!result.ok) return result;
      const { body: accepted, res } = result.value;
      return {
        ok: true,
        value: {
          body: accepted,
          replayed: headerValue(res.headers['idempotent-replayed']) === 'true',
        },
      };
    },

    async status(requestId, images?: ImagesPageQuery, signal?) {
      const query = images
        ? `?include=images&limit=${images.limit}${images.cursor ? `&cursor=${encodeURIComponent(images.cursor)}` : ''}`
        : '';
      const result = await json(
        `/status/${encodeURIComponent(requestId)}${query}`,
        { method: 'GET', headers: {}, ...(signal ? { signal } : {}) },
        isStatus,
      );
      return result.ok ? { ok: true, value: result.value.body } : result;
    },

    async outputCsv(requestId, signal) {
      const sent = await call(`/requests/${encodeURIComponent(requestId)}/output.csv`, {
        method: 'GET',
        headers: { accept: 'text/csv' },
        ...(signal ? { signal } : {}),
      });
      if (!sent.ok) return sent;
      const status = sent.res.statusCode ?? 0;
      if (status !== 200) return { ok: false, failure: await httpFailure(sent.res, sent.url) };
      return { ok: true, value: sent.res as AsyncIterable<Uint8Array> };
    },
  };
}
