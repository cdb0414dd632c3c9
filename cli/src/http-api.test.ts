/**
 * The HTTP adapter against a real loopback server: the multipart body it writes by hand is read
 * back with busboy (the parser ingest uses), and every kind of failure is classified.
 */
import busboy from 'busboy';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHttpApi, describeNetworkError, parseRetryAfter } from './http-api';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let handler: Handler;
let server: http.Server;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'imgpipe-cli-http-'));
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const api = (idleTimeoutMs?: number) =>
  createHttpApi({
    baseUrl: base,
    userAgent: 'imgpipe-cli/test',
    ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
  });

const json = (res: http.ServerResponse, status: number, body: unknown, headers = {}) =>
  res
    .writeHead(status, { 'content-type': 'application/json', ...headers })
    .end(JSON.stringify(body));

const csvFile = (text: string, name = 'products "new".csv') => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return { path: file, name, size: Buffer.byteLength(text) };
};

const ACCEPTED = {
  request_id: '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70',
  status: 'PENDING',
  status_url: 'http://x/status/0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70',
  products: 1,
  images: 2,
};

describe('upload', () => {
  it('sends a multipart body busboy reads back: fields, the file as it is, the key', async () => {
    const csv = `S. No.,Product Name,Input Image Urls\n1,Größe "L",http://a/x.jpg\n${'x'.repeat(200_000)}\n`;
    let seen: {
      fields: Record<string, string>;
      file?: { name: string; type: string; text: string };
      headers: http.IncomingHttpHeaders;
    } = { fields: {}, headers: {} };
    handler = (req, res) => {
      seen = { fields: {}, headers: req.headers };
      const bb = busboy({ headers: req.headers });
      bb.on('field', (name, value) => (seen.fields[name] = value));
      bb.on('file', (_name, stream, info) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          seen.file = {
            name: info.filename ?? '',
            type: info.mimeType,
            text: Buffer.concat(chunks).toString('utf8'),
          };
        });
      });
      bb.on('close', () => json(res, 202, ACCEPTED, { 'idempotent-replayed': 'true' }));
      req.pipe(bb);
    };
    const result = await api().upload({
      csv: csvFile(csv),
      fields: { webhook_url: 'https://example.com/h?a=1&b=2', quality: '60', format: 'webp' },
      idempotencyKey: 'batch 7',
    });
    expect(result).toEqual({ ok: true, value: { body: ACCEPTED, replayed: true } });
    expect(seen.fields).toEqual({
      webhook_url: 'https://example.com/h?a=1&b=2',
      quality: '60',
      format: 'webp',
    });
    expect(seen.file).toEqual({ name: 'products %22new%22.csv', type: 'text/csv', text: csv });
    expect(seen.headers['idempotency-key']).toBe('batch 7');
    expect(seen.headers['user-agent']).toBe('imgpipe-cli/test');
    expect(Number(seen.headers['content-length'])).toBeGreaterThan(Buffer.byteLength(csv));
  });

  it('an empty file is sent as an empty part (the server names the problem)', async () => {
    let fileBytes = -1;
    handler = (req, res) => {
      const bb = busboy({ headers: req.headers });
      bb.on('file', (_n, stream) => {
        fileBytes = 0;
        stream.on('data', (c: Buffer) => (fileBytes += c.length));
      });
      bb.on('close', () =>
        json(res, 400, { error: { code: 'ERR_FILE_EMPTY', message: 'The file is empty' } }),
      );
      req.pipe(bb);
    };
    const result = await api().upload({ csv: csvFile('', 'empty.csv'), fields: {} });
    expect(fileBytes).toBe(0);
    expect(result).toMatchObject({
      ok: false,
      failure: { kind: 'http', status: 400, code: 'ERR_FILE_EMPTY', imgpipeShape: true },
    });
  });

  it('keeps the answer when the server rejects before reading the whole body and closes', async () => {
    // What ingest does with a file over the limit: answer at once, read no further, close.
    handler = (_req, res) =>
      json(
        res,
        413,
        { error: { code: 'ERR_FILE_TOO_LARGE', message: 'over 1 KiB' } },
        { connection: 'close' },
      );
    const result = await api().upload({
      csv: csvFile('y'.repeat(20_000_000), 'big.csv'),
      fields: {},
    });
    expect(result).toMatchObject({
      ok: false,
      failure: { kind: 'http', status: 413, code: 'ERR_FILE_TOO_LARGE' },
    });
  });
});

describe('failures', () => {
  it('reads imgpipe error bodies with details and Retry-After', async () => {
    handler = (_req, res) =>
      json(
        res,
        503,
        {
          error: {
            code: 'ERR_QUEUE_UNAVAILABLE',
            message: 'Kafka is unavailable',
            details: { request_id: 'r' },
          },
        },
        { 'retry-after': '7' },
      );
    expect(await api().status('r')).toEqual({
      ok: false,
      failure: {
        kind: 'http',
        url: `${base}/status/r`,
        status: 503,
        code: 'ERR_QUEUE_UNAVAILABLE',
        message: 'Kafka is unavailable',
        details: { request_id: 'r' },
        retryAfterSeconds: 7,
        imgpipeShape: true,
      },
    });
  });

  it('says when an error answer is not imgpipe’s shape (wrong --url, a proxy page)', async () => {
    handler = (_req, res) =>
      res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream   down\n');
    expect(await api().status('r')).toMatchObject({
      ok: false,
      failure: {
        kind: 'http',
        status: 502,
        code: 'HTTP_502',
        message: 'Bad Gateway: upstream down',
        imgpipeShape: false,
      },
    });
    handler = (_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html>…</html>');
    expect(await api().status('r')).toMatchObject({
      ok: false,
      failure: { code: 'HTTP_404', message: 'Not Found', imgpipeShape: false },
    });
  });

  it('a 2xx that is not the documented JSON is a protocol failure', async () => {
    handler = (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    expect(await api().status('r')).toMatchObject({
      ok: false,
      failure: { kind: 'protocol', status: 200, reason: 'expected JSON, got <html></html>' },
    });
    handler = (_req, res) => json(res, 200, { hello: 'world' });
    expect(await api().status('r')).toMatchObject({
      ok: false,
      failure: { kind: 'protocol', reason: 'the JSON is not the documented shape' },
    });
  });

  it('nothing listening → network failure naming the reason', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = createHttpApi({ baseUrl: `http://127.0.0.1:${port}`, userAgent: 't' });
    expect(await dead.status('r')).toEqual({
      ok: false,
      failure: {
        kind: 'network',
        url: `http://127.0.0.1:${port}/status/r`,
        reason: 'connection refused (ECONNREFUSED)',
      },
    });
  });

  it('no byte within the idle timeout → network failure; abort → aborted', async () => {
    handler = () => undefined; // never answers
    expect(await api(150).status('r')).toMatchObject({
      ok: false,
      failure: { kind: 'network', reason: 'no answer within 0.15 s' },
    });
    const ac = new AbortController();
    const pending = api().status('r', undefined, ac.signal);
    ac.abort();
    expect(await pending).toEqual({
      ok: false,
      failure: { kind: 'aborted', url: `${base}/status/r` },
    });
  });
});

describe('status and output CSV', () => {
  it('asks for a page of images with limit and cursor', async () => {
    let url = '';
    handler = (req, res) => {
      url = req.url ?? '';
      json(res, 200, { status: 'COMPLETED', progress: { total: 1 } });
    };
    await api().status('id-1', { limit: 1000, cursor: 'MC4w+/=' });
    expect(url).toBe('/status/id-1?include=images&limit=1000&cursor=MC4w%2B%2F%3D');
  });

  it('streams the output CSV, or fails with the 409 body while not done', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('a,b\r\n');
      res.end('1,2\r\n');
    };
    const ok = await api().outputCsv('id');
    if (!ok.ok) throw new Error('expected the CSV');
    const chunks: Buffer[] = [];
    for await (const c of ok.value) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString()).toBe('a,b\r\n1,2\r\n');

    handler = (_req, res) =>
      json(res, 409, {
        error: {
          code: 'ERR_REQUEST_NOT_DONE',
          message: 'not done',
          details: { status: 'PROCESSING' },
        },
      });
    expect(await api().outputCsv('id')).toMatchObject({
      ok: false,
      failure: { status: 409, code: 'ERR_REQUEST_NOT_DONE', details: { status: 'PROCESSING' } },
    });
  });
});

it('parses Retry-After as seconds or an HTTP date', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  expect(parseRetryAfter('5', now)).toBe(5);
  expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
  expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(undefined, now)).toBeUndefined();
});

it('describes network errors by their code', () => {
  const err = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  expect(describeNetworkError(err('ENOTFOUND', 'getaddrinfo ENOTFOUND nope'))).toBe(
    'host not found (ENOTFOUND)',
  );
  expect(describeNetworkError(err('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'))).toBe(
    'TLS problem: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
  );
  expect(describeNetworkError(err('EWEIRD', 'weird'))).toBe('weird (EWEIRD)');
});
