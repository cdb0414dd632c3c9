import type { ErrorRequestHandler, NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorCode } from './errors';
import type { Logger } from './logger';
import { HTTP_BUCKETS_SECONDS } from './metrics';

/** The one error body shape of every HTTP API: `{ "error": { "code", "message", "details"? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export const errorBody = (code: string, message: string, details?: unknown): ErrorBody => ({
  error: details === undefined ? { code, message } : { code, message, details },
});

export interface Readiness {
  /** False while starting or draining: /readyz answers 503. */
  isReady(): boolean;
}

/** `/healthz` (process alive), `/readyz` (503 while starting/draining), `/metrics`. */
export function opsRouter(registry: Registry, readiness: Readiness): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    if (readiness.isReady()) res.json({ status: 'ready' });
    else res.status(503).json(errorBody('ERR_NOT_READY', 'Service is starting or shutting down'));
  });
  router.get('/metrics', (_req, res, next) => {
    registry
      .metrics()
      .then((text) => {
        res.type(registry.contentType).send(text);
      })
      .catch(next);
  });
  return router;
}

/**
 * RED metrics per route template (never the raw path: ids in label values explode cardinality).
 */
export function httpMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'imgpipe_http_requests_total',
    help: 'HTTP requests by route template, method and status code',
    labelNames: ['route', 'method', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'imgpipe_http_request_duration_seconds',
    help: 'HTTP request duration by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: HTTP_BUCKETS_SECONDS,
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      const label = route ? `${req.baseUrl}${route}` : 'unmatched';
      requests.inc({ route: label, method: req.method, code: String(res.statusCode) });
      duration.observe(
        { route: label, method: req.method },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    });
    next();
  };
}

/** Unknown routes → 404 in the shared shape. Mount after every route. */
export const notFoundHandler = (req: Request, res: Response): void => {
  res.status(404).json(errorBody('ERR_NOT_FOUND', `No route for ${req.method} ${req.path}`));
};

/**
 * Last error handler: errors with an `httpStatus` render their code/message/details; anything
 * else is a 500 that never leaks internals (it is logged with the request's context instead).
 */
export interface ErrorHandlerOptions {
  /**
   * Recognises faults of a dependency that will pass (e.g. `isCassandraUnavailable`): they
   * answer 503 ERR_UNAVAILABLE with Retry-After, so clients back off and retry instead of
   * treating a blip as a bug (a 500).
   */
  unavailable?: (err: unknown) => boolean;
  retryAfterSeconds?: number;
}

export function errorHandler(
  logger: Logger,
  options: ErrorHandlerOptions = {},
): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = err as {
      httpStatus?: number;
      status?: number;
      message?: string;
      details?: unknown;
      type?: string;
    };
    // body-parser errors carry `status` (400 malformed JSON, 413 too large).
    const status =
      e.httpStatus ?? (typeof e.status === 'number' && e.status < 500 ? e.status : undefined);
    if (status !== undefined && status < 500) {
      res
        .status(status)
        .json(
          errorBody(errorCode(err) ?? `ERR_HTTP_${status}`, e.message ?? 'Bad request', e.details),
        );
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (options.unavailable?.(err)) {
      res
        .status(503)
        .setHeader('Retry-After', String(options.retryAfterSeconds ?? 5))
        .json(errorBody('ERR_UNAVAILABLE', 'A storage dependency is unavailable; retry shortly'));
      return;
    }
    const code = status === 503 ? (errorCode(err) ?? 'ERR_UNAVAILABLE') : 'ERR_INTERNAL';
    res
      .status(status ?? 500)
      .json(
        errorBody(code, status === 503 ? (e.message ?? 'Service unavailable') : 'Internal error'),
      );
  };
}
