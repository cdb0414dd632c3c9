/**
 * docs/openapi.yaml is the contract users read (issue #9, "API documentation"). These checks
 * keep it honest without engines: it is valid OpenAPI 3.1, it documents exactly the routes
 * ingest serves, its enums are the code's, its examples obey its own schemas, and the Postman
 * collection has a request for every operation. The end-to-end tests
 * (test/e2e/openapi.e2e.test.ts, postman.e2e.test.ts) check real answers against it.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Express } from 'express';
import { silentLogger } from '@imgpipe/platform';
import { FAILURE_CODES, IMAGE_FORMATS, OUTPUT_FORMATS, REQUEST_STATUSES } from '@imgpipe/schemas';
import {
  collectRefs,
  loadApiContract,
  resolvePointer,
  validateOpenApiDocument,
  type ApiContract,
} from '../../../test/support/openapi';
import {
  POSTMAN_COLLECTION_PATH,
  collectionRequests,
  loadPostmanCollection,
} from '../../../test/support/openapi-postman';
import { AGGREGATOR_ROUTES, NOTIFIER_ROUTES, UPLOAD_ROUTES, createIngest } from '../app';
import { loadConfig } from '../config';
import { UploadCodes } from '../domain/errors';
import { FORM_FIELDS, MAX_DIMENSION_LIMIT } from '../domain/form-fields';
import { FakePublisher, MemoryIdempotencyStore, MemoryInputStore } from '../testing/fakes';
import { errorCodesIn } from '../../../test/support/error-codes';
import { WEB_DIR, loadOpenApiDocument } from './public-site';

type Json = Record<string, unknown>;

const REPO = path.resolve(__dirname, '..', '..', '..');
const doc = loadOpenApiDocument();
const contract: ApiContract = loadApiContract(doc);
const components = doc.components as { schemas: Record<string, Json> };
const schema = (name: string): Json => components.schemas[name]!;

/** An example value for each path parameter, so a template can be tried against express. */
const SAMPLE_PARAMS: Record<string, string> = {
  request_id: '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70',
  id: '3f1c2b9a-8d7e-4f60-a5b4-c3d2e1f0a9b8',
  product: '1',
  image: '2',
};
const concrete = (template: string): string =>
  template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = SAMPLE_PARAMS[name];
    if (value === undefined) throw new Error(`no sample value for path parameter {${name}}`);
    return value;
  });

// ---------------------------------------------------------------------------------------------
// What ingest really serves, read from its express app (constructed with in-memory ports; no
// I/O happens before start()).

interface Layer {
  name: string;
  rawPath: string | undefined;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  match(path: string): boolean;
}

interface ServedRoute {
  path: string;
  /** Lower-case methods, or 'all' for app.all(). */
  methods: string[] | 'all';
  layer: Layer;
}

const ALL_METHODS = http.METHODS.map((m) => m.toLowerCase());

function servedRoutes(app: Express): { routes: ServedRoute[]; staticMounts: string[] } {
  const routes: ServedRoute[] = [];
  const staticMounts: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const methods = Object.keys(layer.route.methods);
        const all = ALL_METHODS.every((m) => methods.includes(m));
        routes.push({ path: layer.route.path, methods: all ? 'all' : methods, layer });
      } else if (layer.handle.stack) {
        // Routers are mounted at / here; a mount elsewhere would need its prefix.
        expect(layer.rawPath).toBe('/');
        walk(layer.handle.stack);
      } else if (layer.name === 'serveStatic') {
        staticMounts.push(layer.rawPath ?? '/');
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return { routes, staticMounts };
}

const ingest = createIngest(loadConfig({ HTTP_PORT: '0' }), {
  logger: silentLogger(),
  publisher: new FakePublisher(),
  inputs: new MemoryInputStore(),
  idempotency: new MemoryIdempotencyStore(),
});
const served = servedRoutes(ingest.app);

/** `/status/:requestId` and `/status/{request_id}` both become `/status/{}`. */
const normalise = (p: string): string =>
  p.replace(/:[A-Za-z_]\w*/g, '{}').replace(/\{[^}]+\}/g, '{}');

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = validateOpenApiDocument(doc);
    expect(result.errors ?? null).toBeNull();
    expect(result.valid).toBe(true);
  });

  it('resolves every $ref', () => {
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    const broken = refs.filter(({ ref }) => resolvePointer(doc, ref) === undefined);
    expect(broken).toEqual([]);
  });

  it('points Swagger UI and curl at the local stack', () => {
    expect(doc.servers).toEqual([
      expect.objectContaining({ url: 'http://127.0.0.1:8080' }) as unknown,
    ]);
  });

  it('has a unique operationId, a tag, a summary and described responses on every operation', () => {
    const ids = contract.operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set((doc.tags as { name: string }[]).map((t) => t.name));
    const paths = doc.paths as Record<string, Record<string, Json>>;
    for (const { method, path: p } of contract.operations) {
      const op = paths[p]![method]!;
      expect({ op: `${method} ${p}`, summary: typeof op.summary }).toEqual({
        op: `${method} ${p}`,
        summary: 'string',
      });
      for (const tag of op.tags as string[]) expect(tags).toContain(tag);
    }
  });

  it('compiles every component schema in strict mode (a typo in a keyword fails here)', () => {
    const failures: string[] = [];
    for (const name of Object.keys(components.schemas)) {
      try {
        contract.compile({ $ref: `#/components/schemas/${name}` });
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('compiles every inline schema too (media types, headers, parameters)', () => {
    const inline: { where: string; schema: unknown }[] = [];
    const visit = (node: unknown, where: string) => {
      if (typeof node !== 'object' || node === null) return;
      for (const [k, v] of Object.entries(node)) {
        // Component schemas are compiled above; `schema` keys elsewhere hold inline ones.
        if (k === 'schema' && typeof v === 'object')
          inline.push({ where: `${where}/${k}`, schema: v });
        else if (where !== '#/components' || k !== 'schemas') visit(v, `${where}/${k}`);
      }
    };
    visit(doc, '#');
    expect(inline.length).toBeGreaterThan(40);
    const failures = inline.flatMap(({ where, schema: s }) => {
      try {
        contract.compile(s);
        return [];
      } catch (err) {
        return [`${where}: ${(err as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });
});

describe('the conformance check the end-to-end tests use', () => {
  // The e2e tests pass when every answer conforms; these prove a wrong answer is caught.
  const status = {
    request_id: SAMPLE_PARAMS.request_id,
    status: 'PENDING',
    progress: { total: 1, compressed: 0, failed: 0, pending: 1, percent: 0 },
    created_at: '2026-03-01T12:00:00.000Z',
    updated_at: '2026-03-01T12:00:00.000Z',
    completed_at: null,
    bytes_in: 0,
    bytes_out: 0,
  };
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const check = (over: Partial<Parameters<ApiContract['checkResponse']>[0]>) => () =>
    contract.checkResponse({
      method: 'GET',
      url: `/status/${SAMPLE_PARAMS.request_id}?include=images`,
      status: 200,
      headers: json,
      body: JSON.stringify(status),
      ...over,
    });

  it('accepts a conforming answer and names its operation', () => {
    expect(check({})()).toMatchObject({ operationId: 'getStatus' });
  });

  it.each([
    ['an undocumented path', { url: '/nope' }, /not a documented operation/],
    ['an undocumented status', { status: 418 }, /answered 418, which is not documented/],
    [
      'another content type',
      { headers: { 'content-type': 'text/html' } },
      /text\/html is not documented/,
    ],
    [
      'a field the schema lacks',
      { body: JSON.stringify({ ...status, extra: 1 }) },
      /additional properties/,
    ],
    [
      'a wrong enum value',
      { body: JSON.stringify({ ...status, status: 'DONE' }) },
      /allowed values/,
    ],
    [
      'a missing required header',
      { status: 503, body: '{"error":{"code":"ERR_UNAVAILABLE","message":"x"}}' },
      /required header Retry-After is missing/,
    ],
    [
      'a header its schema refuses',
      {
        status: 503,
        headers: { ...json, 'retry-after': 'soon' },
        body: '{"error":{"code":"ERR_UNAVAILABLE","message":"x"}}',
      },
      /header Retry-After/,
    ],
    [
      'an error code of another route',
      {
        status: 404,
        body: '{"error":{"code":"ERR_WEBHOOK_NOT_FOUND","message":"x","details":{"request_id":"0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70"}}}',
      },
      /must be equal to constant/,
    ],
    [
      'a body on a 304',
      {
        status: 304,
        url: `/requests/${SAMPLE_PARAMS.request_id}/output.csv`,
        headers: { etag: '"x"' },
        body: 'x',
      },
      /no body is documented/,
    ],
  ])('rejects %s', (_what, over, message) => {
    expect(check(over)).toThrow(message);
  });

  it('checks webhook deliveries: headers and body', () => {
    const body = JSON.stringify({
      type: 'request.completed',
      timestamp: '2026-03-01T12:00:04.020Z',
      data: {
        request_id: SAMPLE_PARAMS.request_id,
        status: 'COMPLETED',
        progress: { total: 1, compressed: 1, failed: 0, pending: 0, percent: 100 },
        output_csv_url: 'http://127.0.0.1:8080/requests/x/output.csv',
        completed_at: '2026-03-01T12:00:04.020Z',
      },
    });
    const headers = {
      'content-type': 'application/json',
      'webhook-id': SAMPLE_PARAMS.id,
      'webhook-timestamp': '1772366404',
      'webhook-signature': `v1,${Buffer.alloc(32, 7).toString('base64')}`,
    };
    expect(() => contract.checkWebhook('request.completed', { headers, body })).not.toThrow();
    expect(() =>
      contract.checkWebhook('request.completed', {
        headers: { ...headers, 'webhook-signature': 'sha256=abc' },
        body,
      }),
    ).toThrow(/webhook-signature/);
    expect(() =>
      contract.checkWebhook('request.completed', {
        headers,
        body: body.replace('"COMPLETED"', '"PROCESSING"'),
      }),
    ).toThrow(/allowed values/);
  });
});

describe('routes: the document and ingest agree', () => {
  it('finds the routes app.ts exports among those it serves', () => {
    const paths = served.routes.map((r) => r.path);
    for (const p of [...UPLOAD_ROUTES, ...AGGREGATOR_ROUTES, ...NOTIFIER_ROUTES]) {
      expect(paths).toContain(p);
    }
    for (const p of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      expect(paths).toContain(p);
    }
    // The page's files (/) and Swagger UI's assets (/docs/assets, referenced by /docs) are
    // static trees, not API operations; anything else mounted would need a decision here.
    expect(served.staticMounts.sort()).toEqual(['/', '/docs/assets']);
  });

  it('serves every documented operation', () => {
    const missing: string[] = [];
    for (const { method, path: template } of contract.operations) {
      const url = concrete(template);
      if (template === '/') {
        // Served by the static tree at / (index.html).
        if (!served.staticMounts.includes('/')) missing.push(`${method} ${template}`);
        continue;
      }
      const handled = served.routes.some(
        (r) => (r.methods === 'all' || r.methods.includes(method)) && r.layer.match(url),
      );
      if (!handled) missing.push(`${method.toUpperCase()} ${template}`);
    }
    expect(missing).toEqual([]);
  });

  it('documents every route ingest serves, with its methods', () => {
    const documented = contract.operations.map((o) => ({ ...o, norm: normalise(o.path) }));
    const undocumented: string[] = [];
    for (const route of served.routes) {
      const norm = normalise(route.path);
      const wildcard = /\*\w+$/.exec(norm);
      // `/webhooks/*rest` forwards everything below /webhooks/: it needs documented paths there.
      const here = wildcard
        ? documented.filter((o) => o.norm.startsWith(norm.slice(0, wildcard.index)))
        : documented.filter((o) => o.norm === norm);
      if (route.methods === 'all') {
        if (here.length === 0) undocumented.push(`* ${route.path}`);
        continue;
      }
      for (const method of route.methods) {
        // HEAD is answered by every GET route (express); it is not documented separately.
        if (method === 'head') continue;
        if (!here.some((o) => o.method === method)) {
          undocumented.push(`${method.toUpperCase()} ${route.path}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('documents the status query parameters the aggregator reads', () => {
    const params = (doc.paths as Record<string, { get: { parameters: { $ref: string }[] } }>)[
      '/status/{request_id}'
    ]!.get.parameters.map((p) => (resolvePointer(doc, p.$ref) as { name: string }).name);
    expect(params.sort()).toEqual(['cursor', 'include', 'limit', 'request_id']);
  });
});

describe('enums and codes: the document and the code agree', () => {
  it('lists FAILURE_CODES, request statuses and image formats exactly', () => {
    expect(schema('FailureCode').enum).toEqual([...FAILURE_CODES]);
    expect(schema('RequestStatus').enum).toEqual([...REQUEST_STATUSES]);
    expect(schema('ImageFormat').enum).toEqual([...IMAGE_FORMATS]);
  });

  it("documents exactly the upload form's fields, formats and limits", () => {
    const form = schema('UploadForm') as {
      properties: Record<string, Json>;
      required: string[];
    };
    expect(Object.keys(form.properties).sort()).toEqual(['file', ...FORM_FIELDS].sort());
    expect(form.required).toEqual(['file']);
    // `jpg` is accepted as an alias of `jpeg`.
    expect([...(form.properties.format!.enum as string[])].sort()).toEqual(
      [...OUTPUT_FORMATS, 'jpg'].sort(),
    );
    expect(form.properties.max_dimension!.maximum).toBe(MAX_DIMENSION_LIMIT);
  });

  it('lists every error code the HTTP layers can answer', () => {
    const documented = new Set(schema('ErrorCode').enum as string[]);
    // The files that build HTTP error bodies; every ERR_ literal in them reaches clients.
    const sources = [
      'ingest/src/app.ts',
      'ingest/src/http/edge-proxy.ts',
      'aggregator/src/errors.ts',
      'notifier/src/domain/errors.ts',
      'notifier/src/domain/endpoints.ts',
      'platform/src/http.ts',
    ];
    const inCode = new Set([
      ...Object.values(UploadCodes),
      ...sources.flatMap((f) => [...errorCodesIn(f).codes]),
    ]);
    expect([...inCode].filter((c) => !documented.has(c))).toEqual([]);
  });

  it("keeps every response's narrowed error codes inside ErrorCode", () => {
    const documented = new Set(schema('ErrorCode').enum as string[]);
    const narrowed = Object.entries(components.schemas)
      // Every narrowed error body (the generic `Error` keeps the whole ErrorCode enum).
      .filter(
        ([name]) => (name.endsWith('Error') && name !== 'Error') || name === 'InternalErrorBody',
      )
      .flatMap(([name, s]) => {
        const code = (s as { properties: { error: { properties: { code: Json } } } }).properties
          .error.properties.code;
        const codes = (code.enum as string[] | undefined) ?? [code.const as string];
        return codes.map((c) => ({ name, code: c }));
      });
    expect(narrowed.length).toBeGreaterThan(20);
    expect(narrowed.filter(({ code }) => !documented.has(code))).toEqual([]);
  });
});

describe('examples obey their own schemas', () => {
  // Swagger UI shows these to users; a wrong example is a wrong document.
  const mediaExamples: { where: string; schema: unknown; value: unknown }[] = [];
  const visit = (node: unknown, where: string) => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => visit(v, `${where}/${i}`));
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const obj = node as Json;
    if (
      obj.schema !== undefined &&
      obj.examples !== undefined &&
      typeof obj.examples === 'object'
    ) {
      for (const [name, ex] of Object.entries(obj.examples as Record<string, { value: unknown }>)) {
        mediaExamples.push({
          where: `${where}/examples/${name}`,
          schema: obj.schema,
          value: ex.value,
        });
      }
    }
    for (const [k, v] of Object.entries(obj)) visit(v, `${where}/${k}`);
  };
  visit(doc.components, '#/components');

  it('finds the documented examples', () => {
    expect(mediaExamples.length).toBeGreaterThanOrEqual(8);
  });

  it.each(mediaExamples.map((e) => [e.where, e] as const))('%s', (_where, example) => {
    const validate = contract.compile(example.schema);
    expect(validate(example.value) ? [] : validate.errors).toEqual([]);
  });
});

describe('the Swagger UI page', () => {
  it('loads only local assets, so /docs works offline', () => {
    const html = readFileSync(path.join(WEB_DIR, 'docs.html'), 'utf8');
    const init = readFileSync(path.join(WEB_DIR, 'docs-init.js'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(
      expect.arrayContaining([
        '/docs/assets/swagger-ui.css',
        '/docs/assets/swagger-ui-bundle.js',
        '/docs-init.js',
      ]),
    );
    for (const ref of refs) expect(ref).toMatch(/^\/(?!\/)/);
    expect(`${html}\n${init}`).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    // Swagger UI's default online validator badge would call validator.swagger.io.
    expect(init).toMatch(/validatorUrl:\s*null/);
  });
});

describe('docs/imgpipe.postman_collection.json is in step with the document', () => {
  const collection = loadPostmanCollection();
  const requests = collectionRequests(collection);

  it('is a Postman v2.1 collection with a baseUrl variable for the local stack', () => {
    expect((collection.info as Json).schema).toBe(
      'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    );
    expect(collection.variable).toEqual(
      expect.arrayContaining([{ key: 'baseUrl', value: 'http://127.0.0.1:8080' }]),
    );
    expect(POSTMAN_COLLECTION_PATH).toMatch(/docs\/imgpipe\.postman_collection\.json$/);
  });

  it('has a request for every documented operation', () => {
    const covered = new Set(
      requests.flatMap((r) => {
        const op = contract.match(r.method, r.path);
        return op ? [op.operationId] : [];
      }),
    );
    const missing = contract.operations.filter((o) => !covered.has(o.operationId));
    expect(missing.map((o) => `${o.method.toUpperCase()} ${o.path}`)).toEqual([]);
  });

  it('has no request for an undocumented operation', () => {
    const stray = requests.filter((r) => contract.match(r.method, r.path) === undefined);
    expect(stray.map((r) => `${r.name}: ${r.method} ${r.path}`)).toEqual([]);
  });

  it('groups requests in one folder per tag of the document', () => {
    const tags = (doc.tags as { name: string }[]).map((t) => t.name);
    const folders = (collection.item as { name: string }[]).map((f) => f.name);
    expect(folders.sort()).toEqual([...tags].sort());
    for (const r of requests) {
      const op = contract.match(r.method, r.path)!;
      const opTags = (doc.paths as Record<string, Record<string, { tags: string[] }>>)[op.path]![
        op.method
      ]!.tags;
      expect({ request: r.name, tags: opTags }).toEqual({
        request: r.name,
        tags: expect.arrayContaining([r.folder]) as unknown,
      });
    }
  });

  it('uploads the example CSVs that sit beside it', () => {
    const files = requests.flatMap((r) => r.files);
    expect(files.sort()).toEqual(expect.arrayContaining(['invalid.csv', 'products.csv']));
    for (const f of files) {
      expect(() => readFileSync(path.join(REPO, 'docs', 'postman', f))).not.toThrow();
    }
  });

  it('tests every request and checks its status code', () => {
    const untested = requests.filter(
      (r) => !/pm\.response\.to\.have\.status|pm\.expect\(pm\.response\.code\)/.test(r.tests),
    );
    expect(untested.map((r) => r.name)).toEqual([]);
  });
});
