/**
 * The public edge: ingest forwards the aggregator's and the notifier's routes. Real HTTP on
 * both sides: a small server stands in for the peer's API and records what it received.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startWithFakes, type FakeIngest } from '../testing/harness';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A stand-in upstream; `reply` decides the answer for each request. */
async function upstream(
  reply: (seen: Seen, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      seen.push(s);
      reply(s, res);
    });
  });
  const url = await listen(server);
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL where nothing listens. */
async function closedPort(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

const IMAGE = Buffer.alloc(3 * 1024 * 1024, 'imgpipe-bytes');
const CSV_GZ = gzipSync('Serial Number,Product Name,Input Image Urls,Output Image Urls\n');

describe('public edge: forwarding to the aggregator and the notifier', () => {
  let aggregator: Awaited<ReturnType<typeof upstream>>;
  let notifier: Awaited<ReturnType<typeof upstream>>;
  let svc: FakeIngest;

  beforeAll(async () => {
    aggregator = await upstream((s, res) => {
      if (s.url.startsWith('/images/')) {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': IMAGE.length });
        res.end(IMAGE);
      } else if (s.url.includes('output.csv') || s.url.startsWith('/api/download/')) {
        res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-encoding': 'gzip',
          'content-disposition': 'attachment; filename="output.csv"',
        });
        res.end(CSV_GZ);
      } else if (s.url.includes('missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { code: 'ERR_REQUEST_NOT_FOUND', message: 'No such request' } }),
        );
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'aggregator' });
        res.end(JSON.stringify({ request_id: s.url.split('/').pop(), status: 'PROCESSING' }));
      }
    });
    notifier = await upstream((s, res) => {
      res.writeHead(s.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: s.method, url: s.url }));
    });
    svc = await startWithFakes({ AGGREGATOR_URL: aggregator.url, NOTIFIER_URL: notifier.url });
  });
  afterAll(async () => {
    await svc.stop();
    await aggregator.close();
    await notifier.close();
  });

  it.each(['/status/abc', '/api/status/abc'])(
    'GET %s: status, headers and body of the aggregator',
    async (path) => {
      const res = await fetch(`${svc.url}${path}?verbose=1`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-upstream')).toBe('aggregator');
      expect(await res.json()).toEqual({ request_id: 'abc?verbose=1', status: 'PROCESSING' });
      expect(aggregator.seen.at(-1)).toMatchObject({ method: 'GET', url: `${path}?verbose=1` });
    },
  );

  it('passes the aggregator 404 through as it is', async () => {
    const res = await fetch(`${svc.url}/status/missing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'ERR_REQUEST_NOT_FOUND', message: 'No such request' },
    });
  });

  it.each(['/requests/abc/output.csv', '/api/download/abc'])(
    'GET %s: the CSV bytes untouched (still gzip-encoded), with its headers',
    async (path) => {
      // node:http, not fetch: fetch would decode the gzip body.
      const { status, headers, body } = await new Promise<{
        status: number;
        headers: IncomingMessage['headers'];
        body: Buffer;
      }>((resolve, reject) => {
        request(`${svc.url}${path}`, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
      expect(headers['content-encoding']).toBe('gzip');
      expect(headers['content-disposition']).toBe('attachment; filename="output.csv"');
      expect(body).toEqual(CSV_GZ);
    },
  );

  it('GET /images/:id/:product/:image streams the image bytes through', async () => {
    const res = await fetch(`${svc.url}/images/abc/1/2`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    // Buffer.equals: Jest's deep equality walks 3 MiB byte by byte.
    expect(bytes.length).toBe(IMAGE.length);
    expect(bytes.equals(IMAGE)).toBe(true);
    expect(aggregator.seen.at(-1)?.url).toBe('/images/abc/1/2');
  });

  it('forwards /webhooks and /webhooks/* with any method, body and headers, plus X-Forwarded-For', async () => {
    const body = JSON.stringify({ url: 'https://hooks.example.com/x' });
    const created = await fetch(`${svc.url}/webhooks`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
    });
    expect(created.status).toBe(201);
    const seen = notifier.seen.at(-1)!;
    expect(seen).toMatchObject({ method: 'POST', url: '/webhooks' });
    expect(seen.body.toString()).toBe(body);
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer t',
      'x-forwarded-for': expect.stringContaining('127.0.0.1') as string,
    });

    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const res = await fetch(`${svc.url}/webhooks/ep-1/deliveries?limit=5`, { method });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ method, url: '/webhooks/ep-1/deliveries?limit=5' });
    }
  });

  it('does not forward other paths (404 from ingest itself)', async () => {
    const before = aggregator.seen.length;
    const res = await fetch(`${svc.url}/status`);
    expect(res.status).toBe(404);
    expect(aggregator.seen.length).toBe(before);
  });
});

describe('public edge: upstream unavailable', () => {
  it('answers 503 with Retry-After in the shared error shape when the upstream is down', async () => {
    const down = await closedPort();
    const svc = await startWithFakes({ AGGREGATOR_URL: down, NOTIFIER_URL: down });
    try {
      for (const [method, path] of [
        ['GET', '/status/abc'],
        ['GET', '/images/abc/1/1'],
        ['POST', '/webhooks'],
      ] as const) {
        const res = await fetch(`${svc.url}${path}`, {
          method,
          body: method === 'POST' ? '{}' : undefined,
        });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect(await res.json()).toEqual({
          error: { code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.any(String) as string },
        });
      }
    } finally {
      await svc.stop();
    }
  });

  it('answers 504 when the upstream accepts but never answers', async () => {
    const hang = await upstream(() => undefined);
    const svc = await startWithFakes({ AGGREGATOR_URL: hang.url, UPSTREAM_TIMEOUT_MS: '300' });
    try {
      const res = await fetch(`${svc.url}/status/abc`);
      expect(res.status).toBe(504);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'ERR_UPSTREAM_TIMEOUT',
      );
    } finally {
      await svc.stop();
      await hang.close();
    }
  });
});
