import express, { type Express, type Request, type Response } from 'express';
import {
  errorHandler,
  httpMetrics,
  isCassandraUnavailable,
  notFoundHandler,
  opsRouter,
  type Logger,
  type Readiness,
  type Registry,
} from '@imgpipe/platform';
import type { EndpointService } from '../domain/endpoints';

export interface HttpDeps {
  endpoints: EndpointService;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
}

/**
 * The notifier's HTTP API: /healthz /readyz /metrics and endpoint registration under /webhooks
 * (reached by users through ingest's edge, which forwards /webhooks and /webhooks/*).
 */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(httpMetrics(deps.registry));
  app.use(opsRouter(deps.registry, deps.readiness));

  const router = express.Router();
  // Bodies are tiny ({ url, description }); anything bigger is a mistake or an attack.
  router.use(
    express.json({
      limit: '16kb',
      strict: false,
      type: ['application/json', 'application/*+json'],
    }),
  );
  // Secrets appear in responses: never cache them anywhere.
  router.use((_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });

  router.post('/webhooks', async (req: Request, res: Response) => {
    const created = await deps.endpoints.register(req.body as unknown);
    res.status(201).location(`/webhooks/${created.id}`).json(created);
  });
  router.get('/webhooks', async (_req, res) => {
    res.json({ webhooks: await deps.endpoints.list() });
  });
  router.get('/webhooks/:id', async (req: Request<{ id: string }>, res) => {
    res.json(await deps.endpoints.get(req.params.id));
  });
  router.delete('/webhooks/:id', async (req: Request<{ id: string }>, res) => {
    await deps.endpoints.remove(req.params.id);
    res.status(204).end();
  });
  router.post('/webhooks/:id/rotate-secret', async (req: Request<{ id: string }>, res) => {
    res.json(await deps.endpoints.rotateSecret(req.params.id));
  });

  app.use(router);
  app.use(notFoundHandler);
  // Endpoints live in Cassandra: an outage is a 503 to retry, as on the aggregator's routes.
  app.use(errorHandler(deps.logger, { unavailable: isCassandraUnavailable }));
  return app;
}
