/**
 * Checks real HTTP exchanges against docs/openapi.yaml (issue #9, "API documentation"): a
 * response conforms when the document declares its status for that operation, its content type
 * for that status, every header it marks required (with a value its schema accepts), and — for
 * JSON — a body that validates against the schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).
 * The unit test proves the document matches the routes ingest serves; the end-to-end tests use
 * this to prove the running stack answers what the document says.
 */
import { spawnSync } from 'node:child_process';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { loadOpenApiDocument } from '../../ingest/src/http/public-site';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, unknown>;

export interface OperationRef {
  /** Lower-case HTTP method. */
  method: string;
  /** Path template as documented, e.g. `/status/{request_id}`. */
  path: string;
  operationId: string;
}

/** One answer as a client saw it. */
export interface Exchange {
  method: string;
  /** Path (query string allowed) or absolute URL of the request. */
  url: string;
  status: number;
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The raw body ('' when there was none). */
  body: string;
}

export interface WebhookDelivery {
  headers: Headers | Record<string, string | string[] | undefined>;
  body: string;
}

export class ConformanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceError';
  }
}

export interface ApiContract {
  readonly doc: Json;
  /** Every documented operation (paths only, not webhooks). */
  readonly operations: readonly OperationRef[];
  /** Response keys ('200', '4XX', 'default') seen per operationId, webhooks included. */
  readonly seen: ReadonlyMap<string, ReadonlySet<string>>;
  /** The documented operation a request path belongs to (most literal template wins). */
  match(method: string, url: string): OperationRef | undefined;
  /** Throws a ConformanceError naming the route, status and every violation. */
  checkResponse(exchange: Exchange): OperationRef;
  /** Checks a delivered webhook request against the document's `webhooks:` entry. */
  checkWebhook(name: string, delivery: WebhookDelivery): void;
  /** Every (operationId, response key) pair the document declares. */
  documentedResponses(): { operationId: string; status: string }[];
  /** Compiles any schema of the document (its `#/components/...` refs resolved), as the checks do. */
  compile(schema: unknown): ValidateFunction;
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `$ref` in the document with where it sits, for the unit test's "every $ref resolves". */
export function collectRefs(node: unknown, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => collectRefs(v, `${at}/${i}`));
  if (!isObject(node)) return [];
  const own = typeof node.$ref === 'string' ? [{ at, ref: node.$ref }] : [];
  return [
    ...own,
    ...Object.entries(node).flatMap(([k, v]) =>
      collectRefs(v, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    ),
  ];
}

/** Follows a local JSON pointer (`#/components/schemas/Error`); undefined when it leads nowhere. */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Json)[key];
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Validates the document against the official OpenAPI 3.1 schema with
 * @seriousme/openapi-schema-validator. That package is ESM-only and Jest runs CommonJS, so it
 * runs in a child Node process (the document goes in on stdin, the verdict comes back as JSON).
 */
export function validateOpenApiDocument(doc: Json): { valid: boolean; errors: unknown } {
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text));
    process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? null, version: validator.version }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    input: JSON.stringify(doc),
    encoding: 'utf8',
    cwd: __dirname,
  });
  if (run.status !== 0) throw new Error(`openapi-schema-validator failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { valid: boolean; errors: unknown; version: string };
  if (out.version !== '3.1') throw new Error(`validated as OpenAPI ${out.version}, expected 3.1`);
  return out;
}

const headerOf = (headers: Exchange['headers'], name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted && v !== undefined) return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
};

/** `application/json; charset=utf-8` → `application/json`. */
const essence = (contentType: string): string => contentType.split(';')[0]!.trim().toLowerCase();

const mediaMatches = (documented: string, actual: string): boolean => {
  const [type, sub] = documented.toLowerCase().split('/');
  const [aType, aSub] = actual.split('/');
  return (type === '*' || type === aType) && (sub === '*' || sub === aSub);
};

const isJsonMedia = (media: string): boolean =>
  media === 'application/json' || media.endsWith('+json');

const describeErrors = (errors: ErrorObject[] | null | undefined): string =>
  (errors ?? [])
    .map((e) => `  ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');

const excerpt = (text: string, max = 600): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;

/** The document's operations, with their (path-level and operation-level) parameters merged. */
function operationsOf(doc: Json): (OperationRef & { op: Json })[] {
  const out: (OperationRef & { op: Json })[] = [];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      out.push({
        method,
        path,
        operationId: (op.operationId as string | undefined) ?? `${method} ${path}`,
        op,
      });
    }
  }
  return out;
}

const templateRegex = (template: string): RegExp =>
  new RegExp(
    `^${template
      .split(/(\{[^}]+\})/)
      .map((part) =>
        part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  );

/** Number of literal characters: a more literal template wins over a templated one. */
const literalness = (template: string): number => template.replace(/\{[^}]+\}/g, '').length;

/**
 * Loads the document (the same file ingest serves at /openapi.json) and prepares the checks.
 * Ajv runs in strict mode, so a schema with a typo'd keyword fails loudly instead of accepting
 * everything; the OpenAPI-only annotation keywords are declared as such.
 */
export function loadApiContract(doc: Json = loadOpenApiDocument()): ApiContract {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  addFormats(ajv);
  // OpenAPI's `format: binary` annotates byte streams; it never constrains a JSON value here.
  ajv.addFormat('binary', true);
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs', 'components']);
  const ROOT = 'https://imgpipe.invalid/openapi.json';
  ajv.addSchema({ $id: ROOT, components: { schemas: (doc.components as Json).schemas } });

  const absolute = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(absolute);
    if (!isObject(node)) return node;
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${ROOT}${v}` : absolute(v),
      ]),
    );
  };
  const compiled = new Map<string, ValidateFunction>();
  const validatorFor = (key: string, schema: unknown): ValidateFunction => {
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(absolute(schema) as Json);
      compiled.set(key, validate);
    }
    return validate;
  };

  /** Follows `$ref`s of responses, headers, parameters and request bodies. */
  const deref = (node: unknown): Json => {
    let current = node;
    for (let hops = 0; isObject(current) && typeof current.$ref === 'string'; hops += 1) {
      if (hops > 10) throw new ConformanceError(`$ref loop at ${current.$ref}`);
      const target = resolvePointer(doc, current.$ref);
      if (target === undefined) throw new ConformanceError(`unresolved $ref ${current.$ref}`);
      current = target;
    }
    if (!isObject(current))
      throw new ConformanceError(`expected an object, got ${String(current)}`);
    return current;
  };

  const ops = operationsOf(doc);
  const seen = new Map<string, Set<string>>();
  const note = (operationId: string, key: string) => {
    const set = seen.get(operationId) ?? new Set<string>();
    set.add(key);
    seen.set(operationId, set);
  };

  const match = (method: string, url: string): (OperationRef & { op: Json }) | undefined => {
    const pathname = new URL(url, 'http://x').pathname;
    const candidates = ops.filter(
      (o) => o.method === method.toLowerCase() && templateRegex(o.path).test(pathname),
    );
    return candidates.sort((a, b) => literalness(b.path) - literalness(a.path))[0];
  };

  const checkHeaders = (
    where: string,
    declared: Record<string, unknown>,
    actual: Exchange['headers'],
    problems: string[],
  ) => {
    for (const [name, raw] of Object.entries(declared)) {
      // OpenAPI: a Content-Type header definition is ignored (the media type says it).
      if (name.toLowerCase() === 'content-type') continue;
      const header = deref(raw);
      const value = headerOf(actual, name);
      if (value === undefined) {
        if (header.required === true) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (header.schema !== undefined) {
        const validate = validatorFor(`${where} header ${name}`, header.schema);
        if (!validate(value)) {
          problems.push(
            `header ${name}: ${JSON.stringify(value)} does not match its schema:\n${describeErrors(validate.errors)}`,
          );
        }
      }
    }
  };

  const checkBody = (
    where: string,
    content: Json | undefined,
    headers: Exchange['headers'],
    body: string,
    problems: string[],
  ) => {
    if (content === undefined || Object.keys(content).length === 0) {
      if (body.length > 0) problems.push(`no body is documented, got ${excerpt(body, 200)}`);
      return;
    }
    const contentType = headerOf(headers, 'content-type');
    if (contentType === undefined) {
      problems.push(`no Content-Type; documented: ${Object.keys(content).join(', ')}`);
      return;
    }
    const actual = essence(contentType);
    const media = Object.keys(content).find((m) => mediaMatches(m, actual));
    if (media === undefined) {
      problems.push(
        `Content-Type ${contentType} is not documented (documented: ${Object.keys(content).join(', ')})`,
      );
      return;
    }
    const mediaObject = content[media] as Json;
    if (!isJsonMedia(media) || mediaObject.schema === undefined) return;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      problems.push(`body is not JSON: ${excerpt(body, 200)}`);
      return;
    }
    const validate = validatorFor(`${where} ${media}`, mediaObject.schema);
    if (!validate(value)) {
      problems.push(
        `body does not match the ${media} schema:\n${describeErrors(validate.errors)}\nbody: ${excerpt(JSON.stringify(value))}`,
      );
    }
  };

  /** Every way the headers and body of one message differ from what the document declares. */
  const conformance = (
    where: string,
    declaredHeaders: Json,
    content: Json | undefined,
    message: WebhookDelivery,
  ): string[] => {
    const problems: string[] = [];
    checkHeaders(where, declaredHeaders, message.headers, problems);
    checkBody(where, content, message.headers, message.body, problems);
    return problems;
  };

  return {
    doc,
    operations: ops.map(({ method, path, operationId }) => ({ method, path, operationId })),
    seen,
    match(method, url) {
      const found = match(method, url);
      return found && { method: found.method, path: found.path, operationId: found.operationId };
    },
    checkResponse(exchange) {
      const method = exchange.method.toLowerCase();
      const op = match(method, exchange.url);
      if (!op) {
        throw new ConformanceError(
          `${method.toUpperCase()} ${exchange.url} (answered ${exchange.status}) is not a documented operation`,
        );
      }
      const route = `${method.toUpperCase()} ${op.path} (${exchange.url})`;
      const responses = (op.op.responses ?? {}) as Record<string, unknown>;
      const status = String(exchange.status);
      const key = [status, `${status[0]}XX`, 'default'].find((k) => k in responses);
      if (key === undefined) {
        throw new ConformanceError(
          `${route} answered ${status}, which is not documented (documented: ${Object.keys(responses).join(', ')}); body: ${excerpt(exchange.body, 300)}`,
        );
      }
      const response = deref(responses[key]);
      const problems = conformance(
        `${op.operationId} ${key}`,
        (response.headers ?? {}) as Json,
        response.content as Json | undefined,
        exchange,
      );
      if (problems.length > 0) {
        throw new ConformanceError(`${route} → ${status}:\n- ${problems.join('\n- ')}`);
      }
      note(op.operationId, key);
      return { method: op.method, path: op.path, operationId: op.operationId };
    },
    checkWebhook(name, delivery) {
      const item = ((doc.webhooks ?? {}) as Record<string, Json>)[name];
      const op = item?.post;
      if (!isObject(op)) throw new ConformanceError(`webhook ${name} is not documented`);
      const where = `webhook ${name}`;
      const params = [
        ...((item!.parameters ?? []) as unknown[]),
        ...((op.parameters ?? []) as unknown[]),
      ]
        .map(deref)
        .filter((p) => p.in === 'header');
      const problems = conformance(
        where,
        Object.fromEntries(params.map((p) => [String(p.name), p])),
        deref(op.requestBody).content as Json | undefined,
        delivery,
      );
      if (problems.length > 0) {
        throw new ConformanceError(`${where}:\n- ${problems.join('\n- ')}`);
      }
      note((op.operationId as string | undefined) ?? where, 'request');
    },
    compile: (schema) => ajv.compile(absolute(schema) as Json),
    documentedResponses() {
      return ops.flatMap((o) =>
        Object.keys((o.op.responses ?? {}) as Json).map((status) => ({
          operationId: o.operationId,
          status,
        })),
      );
    },
  };
}

/** What `fetchChecked` returns: the response, its raw text and (for JSON) the parsed body. */
export interface CheckedResponse {
  res: Response;
  status: number;
  text: string;
  json: unknown;
  bytes: Buffer;
  operation: OperationRef;
}

/**
 * fetch + checkResponse: every call an end-to-end test makes through this is checked against
 * the document, so a test cannot forget to.
 */
export async function fetchChecked(
  contract: ApiContract,
  baseUrl: string,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<CheckedResponse> {
  const res = await fetch(`${baseUrl}${path}`, { ...init, method: method.toUpperCase() });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  const binary = /^(image|application\/octet-stream)/.test(type);
  const text = binary ? '' : bytes.toString('utf8');
  const operation = contract.checkResponse({
    method,
    url: path,
    status: res.status,
    headers: res.headers,
    // Binary bodies are never parsed; their presence is what counts.
    body: binary ? (bytes.length > 0 ? '(binary)' : '') : text,
  });
  let json: unknown;
  if (/json/.test(type) && text !== '') json = JSON.parse(text);
  return { res, status: res.status, text, json, bytes, operation };
}
