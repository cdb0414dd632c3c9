import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { parse as parseYaml } from 'yaml';

/**
 * Both `ingest/src/http` and `ingest/dist/http` sit three levels below the repository root, so
 * the same relative paths work from the sources (tsx, Jest) and from the compiled image.
 */
const INGEST_DIR = path.resolve(__dirname, '..', '..');
export const WEB_DIR = path.join(INGEST_DIR, 'web');
export const OPENAPI_PATH = path.resolve(INGEST_DIR, '..', 'docs', 'openapi.yaml');

/**
 * The OpenAPI document as JSON. Read once at construction: a missing or malformed document is a
 * packaging fault that should stop the service from starting, not a 500 on the first visit.
 */
export function loadOpenApiDocument(file = OPENAPI_PATH): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the OpenAPI document ${file}`, { cause: err });
  }
  const doc: unknown = parseYaml(text);
  if (typeof doc !== 'object' || doc === null || !('openapi' in doc)) {
    throw new Error(`${file} is not an OpenAPI document`);
  }
  return doc;
}

/**
 * What people see in a browser (issue #9): the upload page at `/` (plain files from
 * `ingest/web`, no build step), the OpenAPI document at `/openapi.json` and interactive API
 * docs at `/docs` (Swagger UI from the swagger-ui-dist package, served locally: nothing is
 * fetched from a CDN).
 */
export function publicSite(
  openapi: Record<string, unknown> = loadOpenApiDocument(),
): express.Router {
  const router = express.Router();
  const body = JSON.stringify(openapi);
  router.get('/openapi.json', (_req: Request, res: Response) => {
    res.type('application/json').setHeader('Cache-Control', 'no-cache').send(body);
  });
  router.get('/docs', (_req: Request, res: Response) => {
    res.sendFile(path.join(WEB_DIR, 'docs.html'));
  });
  router.use('/docs/assets', express.static(getAbsoluteFSPath(), { index: false }));
  router.use(express.static(WEB_DIR, { index: 'index.html' }));
  return router;
}
