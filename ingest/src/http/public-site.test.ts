/**
 * What ingest serves to browsers (issue #9): the upload page and its static files, the OpenAPI
 * document and the Swagger UI page. Real HTTP through the whole ingest app, port fakes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FAILURE_CODES, OUTPUT_FORMATS } from '@imgpipe/schemas';
import { DEFAULT_QUALITY, FORM_FIELDS, MAX_DIMENSION_LIMIT } from '../domain/form-fields';
import { startWithFakes, type FakeIngest } from '../testing/harness';
import { FILE_FIELD } from './multipart';
import { OPENAPI_PATH, UPLOAD_PAGE_CSP, WEB_DIR, loadOpenApiDocument } from './public-site';

let svc: FakeIngest;
beforeAll(async () => {
  svc = await startWithFakes();
});
afterAll(async () => {
  await svc.stop();
});

const get = (p: string) => fetch(`${svc.url}${p}`);
const indexHtml = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');

/** Every relative module import in the page's scripts, followed from app.js. */
function pageModules(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(WEB_DIR, file), 'utf8');
    for (const m of source.matchAll(/^import\s[^'"]*['"]\.\/([\w-]+\.js)['"];?$/gm)) visit(m[1]!);
  };
  visit('app.js');
  return [...seen];
}

describe('the upload page at /', () => {
  it('is HTML with the upload form, the lookup form and the live view, revalidated on each load', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(UPLOAD_PAGE_CSP);
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const html = await res.text();
    expect(html).toBe(indexHtml);
    expect(html).toMatch(
      /<form\s+id="upload-form"\s+action="upload"\s+method="post"\s+enctype="multipart\/form-data"/,
    );
    expect(html).toMatch(/<form id="lookup-form"[^>]*method="get"/);
    expect(html).toContain('<progress id="progress"');
    expect(html).toContain('<script type="module" src="app.js"></script>');
  });

  it('sends exactly the fields POST /upload reads, each with a label', () => {
    const names = [...indexHtml.matchAll(/<(?:input|select)\b[^>]*\bname="([^"]+)"/g)].map(
      (m) => m[1],
    );
    // `request` is the lookup form's (GET ?request=<id>, the deep link).
    expect(names.sort()).toEqual([FILE_FIELD, ...FORM_FIELDS, 'request'].sort());
    for (const id of [...FORM_FIELDS, 'lookup-id']) {
      expect(indexHtml).toContain(`<label for="${id}">`);
    }
    // The file input is labelled by the drop zone that wraps it.
    expect(indexHtml).toMatch(/<label class="dropzone" id="dropzone">\s*<input[^>]*id="file"/);
  });

  it("offers the API's formats, default quality and dimension limit", () => {
    const select = /<select id="format"[^]*?<\/select>/.exec(indexHtml)![0];
    const values = [...select.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]);
    expect(values).toEqual([...OUTPUT_FORMATS]);
    expect(select).toMatch(/<option value="keep" selected>/);
    expect(indexHtml).toMatch(
      new RegExp(`id="quality"[^>]*min="1"[^>]*max="100"[^>]*value="${DEFAULT_QUALITY}"`),
    );
    expect(indexHtml).toMatch(
      new RegExp(`id="max_dimension"[^>]*min="1"[^>]*max="${MAX_DIMENSION_LIMIT}"`),
    );
  });

  it('explains every failure code the status API can report', () => {
    const source = readFileSync(path.join(WEB_DIR, 'format.js'), 'utf8');
    const table = /const FAILURE_HELP = \{([^]*?)\n\};/.exec(source)![1]!;
    const keys = [...table.matchAll(/^ {2}([A-Z_]+):/gm)].map((m) => m[1]);
    expect(keys.sort()).toEqual([...FAILURE_CODES].sort());
  });

  it('serves every script the page loads as JavaScript, and its stylesheet as CSS', async () => {
    const modules = pageModules();
    expect(modules).toEqual(
      expect.arrayContaining(['app.js', 'api.js', 'dom.js', 'format.js', 'request-view.js']),
    );
    for (const file of modules) {
      const res = await get(`/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      // Only the page itself carries the policy.
      expect(res.headers.get('content-security-policy')).toBeNull();
    }
    const css = await get('/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers a conditional reload with 304 (no-cache means revalidate, not re-download)', async () => {
    const first = await get('/app.js');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    // node:http, not fetch: fetch turns a request with If-None-Match into a no-cache one.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http
        .get(`${svc.url}/app.js`, { headers: { 'If-None-Match': etag! } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on('error', reject);
    });
    expect(status).toBe(304);
  });

  it('keeps the deep link working: /?request=<id> is the same page', async () => {
    const res = await get('/?request=0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(indexHtml);
  });
});

describe('API documentation', () => {
  it('serves /openapi.json as the JSON of docs/openapi.yaml', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(parseYaml(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('serves the Swagger UI page at /docs and its assets from swagger-ui-dist', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    const bundle = await get('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it('answers an unknown /docs path with the 404 error shape', async () => {
    const res = await get('/docs/x');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'ERR_NOT_FOUND', message: 'No route for GET /docs/x' },
    });
  });

  it('refuses to start without a readable OpenAPI document', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'imgpipe-openapi-'));
    try {
      expect(() => loadOpenApiDocument(path.join(dir, 'missing.yaml'))).toThrow(
        /cannot read the OpenAPI document/,
      );
      const notOpenApi = path.join(dir, 'other.yaml');
      await writeFile(notOpenApi, 'title: not an API\n');
      expect(() => loadOpenApiDocument(notOpenApi)).toThrow(/is not an OpenAPI document/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
