import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Request, RequestHandler, Response } from 'express';
import { errorBody, type Logger } from '@imgpipe/platform';

export interface EdgeProxyOptions {
  /** Base URL of the upstream service (a path prefix is kept). */
  upstream: string;
  /** Short name for errors and logs ("aggregator", "notifier"). */
  name: string;
  /** No bytes either way for this long → the exchange is abandoned (504 if nothing was sent). */
  idleTimeoutMs: number;
  /** Retry-After sent when the upstream is unreachable. */
  retryAfterSeconds: number;
  logger: Logger;
}

/** Connection-scoped headers (RFC 9110 §7.6.1) never cross a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(key) || named.has(key)) continue;
    out[key] = value;
  }
  return out;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

export interface EdgeProxy {
  handler: RequestHandler;
  /** Closes idle upstream connections (on shutdown). */
  close(): void;
}

/**
 * Forwards the request as it is (method, path, query, headers, body) to the upstream and
 * streams its answer back (status, headers, body), so the user only ever needs ingest's base
 * URL. An upstream that cannot be reached → 503 with Retry-After in the shared error shape;
 * one that stops answering → 504. Once the upstream's headers were sent on, a failure can
 * only cut the response short.
 */
export function edgeProxy(options: EdgeProxyOptions): EdgeProxy {
  const base = new URL(options.upstream);
  const secure = base.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: 256 };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const send = secure ? https.request : http.request;
  const prefix = base.pathname.replace(/\/+$/, '');
  const log = options.logger.child({ component: 'edge-proxy', upstream: options.name });

  const handler = (req: Request, res: Response): void => {
    const headers = endToEnd(req.headers);
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress]
      .filter((v) => v !== undefined && v !== '')
      .join(', ');
    headers['x-forwarded-proto'] ??= req.protocol;
    if (req.headers.host !== undefined) headers['x-forwarded-host'] ??= req.headers.host;

    const upstreamReq = send({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      method: req.method,
      path: `${prefix}${req.originalUrl}`,
      headers,
      agent,
      timeout: options.idleTimeoutMs,
    });

    const failBeforeResponse = (status: 503 | 504, code: string, message: string) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status === 503) res.setHeader('Retry-After', String(options.retryAfterSeconds));
      res.status(status).json(errorBody(code, message));
    };

    upstreamReq.on('timeout', () => {
      upstreamReq.destroy(Object.assign(new Error('upstream idle timeout'), { code: 'ETIMEDOUT' }));
    });
    upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        log.warn({ err, path: req.path }, 'upstream failed mid-response');
        res.destroy();
        return;
      }
      if (err.code === 'ETIMEDOUT') {
        log.warn({ path: req.path }, 'upstream timed out');
        failBeforeResponse(
          504,
          'ERR_UPSTREAM_TIMEOUT',
          `The ${options.name} did not answer in time`,
        );
      } else {
        if (!UNREACHABLE.has(err.code ?? ''))
          log.error({ err, path: req.path }, 'upstream request failed');
        else log.warn({ code: err.code, path: req.path }, 'upstream unreachable');
        failBeforeResponse(
          503,
          'ERR_UPSTREAM_UNAVAILABLE',
          `The ${options.name} is unavailable; retry later`,
        );
      }
    });
    upstreamReq.on('response', (upstreamRes) => {
      res.status(upstreamRes.statusCode ?? 502);
      for (const [key, value] of Object.entries(endToEnd(upstreamRes.headers))) {
        if (value !== undefined) res.setHeader(key, value);
      }
      upstreamRes.on('error', () => res.destroy());
      upstreamRes.pipe(res);
    });
    // The client went away: stop the upstream exchange too.
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  };
  return { handler, close: () => agent.destroy() };
}
