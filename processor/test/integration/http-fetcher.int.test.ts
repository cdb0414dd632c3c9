/**
 * The safe downloader against real local HTTP origins: every download failure code, the
 * address guard on first hops and redirects, caps and deadlines.
 */
import { parseAllowCidrs } from '@imgpipe/platform';
import { createHttpFetcher, type HttpFetcherOptions } from '../../src/adapters/http-fetcher';
import { photoJpeg } from './support/fixtures';
import {
  endless,
  flaky,
  redirect,
  serve,
  silent,
  startImageServer,
  status,
  type ImageServer,
} from './support/image-server';

const MiB = 1024 * 1024;
const LOCAL = parseAllowCidrs('127.0.0.0/8');

const fetcherWith = (over: Partial<HttpFetcherOptions> = {}) =>
  createHttpFetcher({
    allow: LOCAL,
    connectTimeoutMs: 5_000,
    totalTimeoutMs: 15_000,
    maxBytes: 25 * MiB,
    maxRedirects: 3,
    ...over,
  });

const never = new AbortController().signal;

describe('http fetcher', () => {
  let origin: ImageServer;
  let jpeg: Buffer;
  const fetcher = fetcherWith();
  const open: { close(): Promise<void> }[] = [fetcher];

  beforeAll(async () => {
    origin = await startImageServer();
    jpeg = await photoJpeg(64, 48);
    origin.route('/photo.jpg', serve(jpeg));
    origin.route('/photo-as-text', serve(jpeg, 'text/plain'));
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await origin.close();
  });

  it('downloads the bytes, whatever Content-Type says', async () => {
    for (const path of ['/photo.jpg', '/photo-as-text']) {
      const result = await fetcher.fetch(`${origin.url}${path}`, never);
      expect(result).toEqual({
        ok: true,
        value: { bytes: jpeg, httpStatus: 200, finalUrl: `${origin.url}${path}` },
      });
    }
  });

  it('maps 404 to HTTP_NOT_FOUND and other 4xx to HTTP_CLIENT_ERROR, both permanent', async () => {
    origin.route('/forbidden', status(403));
    await expect(fetcher.fetch(`${origin.url}/missing.jpg`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'HTTP_NOT_FOUND', httpStatus: 404, transient: false },
    });
    await expect(fetcher.fetch(`${origin.url}/forbidden`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'HTTP_CLIENT_ERROR', httpStatus: 403, transient: false },
    });
  });

  it('maps 5xx and 429 to transient failures, carrying Retry-After', async () => {
    origin.route('/broken', status(500));
    origin.route('/busy', status(429, { 'retry-after': '7' }));
    await expect(fetcher.fetch(`${origin.url}/broken`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'HTTP_SERVER_ERROR', httpStatus: 500, transient: true },
    });
    await expect(fetcher.fetch(`${origin.url}/busy`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'HTTP_CLIENT_ERROR', httpStatus: 429, transient: true, retryAfterMs: 7000 },
    });
  });

  it('a 500 then a success: the second try gets the image', async () => {
    origin.route('/flaky', flaky(1, 500, jpeg));
    expect((await fetcher.fetch(`${origin.url}/flaky`, never)).ok).toBe(false);
    expect(await fetcher.fetch(`${origin.url}/flaky`, never)).toMatchObject({ ok: true });
  });

  it('gives up on a server that never answers (TIMEOUT, transient)', async () => {
    origin.route('/silent', silent());
    const quick = fetcherWith({ totalTimeoutMs: 400 });
    open.push(quick);
    await expect(quick.fetch(`${origin.url}/silent`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TIMEOUT', transient: true },
    });
  });

  it('the deadline covers a body that trickles', async () => {
    origin.route('/trickle', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(jpeg.subarray(0, 10));
      // …and nothing more.
    });
    const quick = fetcherWith({ totalTimeoutMs: 400 });
    open.push(quick);
    await expect(quick.fetch(`${origin.url}/trickle`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TIMEOUT' },
    });
  });

  it('stops reading a 30 MiB body without Content-Length at the 25 MiB cap', async () => {
    const written = { bytes: 0 };
    origin.route('/endless', endless(30 * MiB, written));
    const result = await fetcher.fetch(`${origin.url}/endless`, never);
    expect(result).toMatchObject({
      ok: false,
      failure: { code: 'TOO_LARGE', transient: false },
    });
    expect(!result.ok && result.failure.message).toContain('25 MiB');
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    origin.route('/declared-huge', (_req, res) => {
      res.writeHead(200, { 'content-length': String(30 * MiB) });
      res.write(Buffer.alloc(1024));
    });
    await expect(fetcher.fetch(`${origin.url}/declared-huge`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TOO_LARGE', message: expect.stringContaining('declared') as unknown },
    });
  });

  it('follows up to 3 redirects (relative and absolute) and refuses the 4th', async () => {
    origin.route('/r1', redirect('/r2', 301));
    origin.route('/r2', redirect(`${origin.url}/r3`, 307));
    origin.route('/r3', redirect('photo.jpg', 308));
    await expect(fetcher.fetch(`${origin.url}/r1`, never)).resolves.toMatchObject({
      ok: true,
      value: { bytes: jpeg, finalUrl: `${origin.url}/photo.jpg` },
    });
    origin.route('/r0', redirect('/r1'));
    await expect(fetcher.fetch(`${origin.url}/r0`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'TOO_MANY_REDIRECTS', transient: false },
    });
    expect(origin.hits('/photo.jpg')).toBeGreaterThan(0);
  });

  it('refuses http targets other than http/https, in URLs and redirects', async () => {
    origin.route('/to-file', redirect('file:///etc/passwd'));
    for (const url of ['ftp://example.com/a.jpg', 'file:///etc/passwd', `${origin.url}/to-file`]) {
      await expect(fetcher.fetch(url, never)).resolves.toMatchObject({
        ok: false,
        failure: { code: 'BLOCKED_ADDRESS', transient: false },
      });
    }
    await expect(
      fetcher.fetch(`http://user:secret@127.0.0.1:${origin.port}/photo.jpg`, never),
    ).resolves.toMatchObject({ ok: false, failure: { code: 'BLOCKED_ADDRESS' } });
  });

  it('maps an unknown host to DNS_FAILURE and a closed port to CONNECTION_FAILED', async () => {
    await expect(fetcher.fetch('http://no-such-host.invalid/a.jpg', never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'DNS_FAILURE' },
    });
    const closed = await startImageServer();
    const port = closed.port;
    await closed.close();
    await expect(fetcher.fetch(`http://127.0.0.1:${port}/a.jpg`, never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'CONNECTION_FAILED', transient: true },
    });
  });

  it('rejects (does not fail the image) when the caller aborts', async () => {
    origin.route('/slow', silent());
    const stop = new AbortController();
    const pending = fetcher.fetch(`${origin.url}/slow`, stop.signal);
    stop.abort(new Error('consumer stopping'));
    await expect(pending).rejects.toThrow('consumer stopping');
  });
});

describe('http fetcher: the private-address guard', () => {
  let origin: ImageServer;
  let v6origin: ImageServer;
  const strict = fetcherWith({ allow: [] });
  // Only IPv6 loopback allowed: the first hop (on ::1) passes, 127.0.0.1 stays private.
  const v6only = fetcherWith({ allow: parseAllowCidrs('::1/128') });

  beforeAll(async () => {
    origin = await startImageServer('127.0.0.1');
    v6origin = await startImageServer('::1');
    const jpeg = await photoJpeg(32, 24);
    origin.route('/photo.jpg', serve(jpeg));
    v6origin.route('/photo.jpg', serve(jpeg));
    v6origin.route('/to-loopback', redirect(`${origin.url}/photo.jpg`));
    v6origin.route('/to-metadata', redirect('http://169.254.169.254/latest/meta-data/'));
    v6origin.route('/to-localhost', redirect(`http://localhost:${origin.port}/photo.jpg`));
    v6origin.route('/to-mapped', redirect(`http://[::ffff:127.0.0.1]:${origin.port}/photo.jpg`));
  });
  afterAll(async () => {
    await Promise.all([strict.close(), v6only.close(), origin.close(), v6origin.close()]);
  });

  it.each([
    ['a loopback literal', () => `${origin.url}/photo.jpg`],
    ['a name resolving to loopback', () => `http://localhost:${origin.port}/photo.jpg`],
    ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a decimal IPv4 literal', () => `http://2130706433:${origin.port}/photo.jpg`],
    ['an IPv4-mapped literal', () => `http://[::ffff:7f00:1]:${origin.port}/photo.jpg`],
    ['a private address', () => 'http://10.0.0.1/a.jpg'],
  ])('with an empty allow-list, refuses %s before sending a byte', async (_label, url) => {
    const before = origin.hits('/photo.jpg');
    await expect(strict.fetch(url(), never)).resolves.toMatchObject({
      ok: false,
      failure: { code: 'BLOCKED_ADDRESS', transient: false },
    });
    expect(origin.hits('/photo.jpg')).toBe(before);
  });

  it('the allowed first hop works', async () => {
    await expect(v6only.fetch(`${v6origin.url}/photo.jpg`, never)).resolves.toMatchObject({
      ok: true,
    });
  });

  it.each(['/to-loopback', '/to-metadata', '/to-localhost', '/to-mapped'])(
    'refuses a redirect %s to a private address',
    async (path) => {
      const before = origin.hits('/photo.jpg');
      const result = await v6only.fetch(`${v6origin.url}${path}`, never);
      expect(result).toMatchObject({ ok: false, failure: { code: 'BLOCKED_ADDRESS' } });
      expect(origin.hits('/photo.jpg')).toBe(before);
    },
  );
});
