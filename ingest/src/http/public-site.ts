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
 * The upload page renders names and URLs from users' CSVs. It builds its DOM with text nodes
 * only; this policy is the second line of defence: scripts, styles and API calls from this
 * server only, nothing inline, no plugins, no framing. Thumbnails of the input images come
 * from wherever the CSV points, hence any http(s) image source.
 */
export const UPLOAD_PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' http: https:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

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
  router.use(
    express.static(WEB_DIR, {
      index: 'index.html',
      setHeaders: (res, file) => {
        // The files are not fingerprinted: revalidate (ETag) on every load, so a new version of
        // the page never runs with a cached copy of an old script.
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        if (path.basename(file) === 'index.html') {
          res.setHeader('Content-Security-Policy', UPLOAD_PAGE_CSP);
          // The address carries the request id; image hosts and other sites need not see it.
          res.setHeader('Referrer-Policy', 'same-origin');
        }
      },
    }),
  );
  return router;
}
