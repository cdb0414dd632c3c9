/**
 * The commands end to end in-process, with a hand-written fake of the HTTP port, recorded
 * stdout/stderr, fake files and a fake clock: what each situation prints and exits with.
 */
import type {
  ApiFailure,
  ApiResult,
  ImagesPageQuery,
  ImgpipeApi,
  StatusBody,
  UploadInput,
  Uploaded,
} from './api';
import type { CliDeps, SaveResult } from './deps';
import { createLineView } from './progress';
import { run } from './run';
import { progressOf } from './testing/fixtures';

const ID = '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70';
const BASE = 'http://imgpipe.test:8080';

const accepted = (over: Partial<Uploaded['body']> = {}): ApiResult<Uploaded> => ({
  ok: true,
  value: {
    body: {
      request_id: ID,
      status: 'PENDING',
      status_url: `${BASE}/status/${ID}`,
      products: 2,
      images: 3,
      ...over,
    },
    replayed: false,
  },
});

const statusOf = (
  status: string,
  compressed: number,
  failed: number,
  total = 3,
  over: Partial<StatusBody> = {},
): StatusBody => ({
  request_id: ID,
  status,
  progress: progressOf(total, compressed, failed),
  created_at: '2025-01-01T10:00:00.000Z',
  updated_at: '2025-01-01T10:00:04.000Z',
  completed_at: ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'].includes(status)
    ? '2025-01-01T10:00:04.000Z'
    : null,
  bytes_in: compressed * 1000,
  bytes_out: compressed * 400,
  ...over,
});

type HttpFailure = Extract<ApiFailure, { kind: 'http' }>;
const httpFailure = (
  status: number,
  code: string,
  over: Partial<HttpFailure> = {},
): { ok: false; failure: ApiFailure } => ({
  ok: false,
  failure: {
    kind: 'http',
    url: `${BASE}/x`,
    status,
    code,
    message: `${code} message`,
    imgpipeShape: true,
    ...over,
  },
});

const image = (position: number, status: string, failure_code: string | null = null) => ({
  position,
  input_url: `http://origin/${position}.jpg`,
  output_url: status === 'COMPRESSED' ? `${BASE}/images/${ID}/1/${position}` : null,
  status,
  failure_code,
  failure_message: failure_code ? 'the image URL answered 404' : null,
  bytes_in: 1000,
  bytes_out: 400,
  width: 10,
  height: 10,
  format: 'jpeg',
});

/** Scripted answers; a status script's last answer repeats. */
class FakeApi implements ImgpipeApi {
  readonly baseUrl: string;
  uploads: UploadInput[] = [];
  uploadAnswers: ApiResult<Uploaded>[] = [accepted()];
  statusAnswers: (ApiResult<StatusBody> | (() => ApiResult<StatusBody>))[] = [];
  /** Images pages by cursor ('' = first). */
  pages = new Map<string, ApiResult<StatusBody>>();
  pageQueries: ImagesPageQuery[] = [];
  csv: ApiResult<string> = { ok: true, value: 'S. No.,Product Name\r\n1,A\r\n' };
  polls = 0;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  upload(input: UploadInput): Promise<ApiResult<Uploaded>> {
    this.uploads.push(input);
    const answer = this.uploadAnswers.shift();
    if (!answer) throw new Error('unexpected upload');
    return Promise.resolve(answer);
  }

  status(_id: string, images?: ImagesPageQuery): Promise<ApiResult<StatusBody>> {
    if (images) {
      this.pageQueries.push(images);
      const page = this.pages.get(images.cursor ?? '');
      if (!page) throw new Error(`no page ${images.cursor ?? ''}`);
      return Promise.resolve(page);
    }
    const next = this.statusAnswers.length > 1 ? this.statusAnswers.shift() : this.statusAnswers[0];
    if (!next) throw new Error('unexpected status poll');
    this.polls += 1;
    return Promise.resolve(typeof next === 'function' ? next() : next);
  }

  outputCsv(): Promise<ApiResult<AsyncIterable<Uint8Array>>> {
    if (!this.csv.ok) return Promise.resolve(this.csv);
    const text = this.csv.value;
    async function* body() {
      await Promise.resolve();
      yield Buffer.from(text);
    }
    return Promise.resolve({ ok: true, value: body() });
  }
}

function harness(opts: { missing?: string[]; unwritable?: string; saveFails?: SaveResult } = {}) {
  let stdout = '';
  let stderr = '';
  let clock = 0;
  const sleeps: number[] = [];
  const saved = new Map<string, string>();
  const interrupt = new AbortController();
  const api = new FakeApi(BASE);
  const views: string[] = [];
  const deps: CliDeps = {
    api: (baseUrl) => {
      expect(baseUrl).toBe(api.baseUrl);
      return api;
    },
    stdout: { write: (t) => (stdout += t) },
    stderr: { write: (t) => (stderr += t) },
    progressView: () =>
      createLineView({ write: (t) => ((stderr += t), views.push(t)), now: () => clock }),
    files: {
      inspectCsv: (path) =>
        Promise.resolve(
          opts.missing?.includes(path)
            ? { ok: false as const, reason: `no such file: ${path}` }
            : { ok: true as const, csv: { path, name: 'p.csv', size: 10 } },
        ),
      checkWritable: (dest) =>
        Promise.resolve(dest === opts.unwritable ? `--out ${dest}: cannot write` : undefined),
      save: async (source, dest) => {
        let text = '';
        for await (const chunk of source) text += Buffer.from(chunk).toString();
        if (opts.saveFails) return opts.saveFails;
        saved.set(dest, text);
        return { ok: true, bytes: text.length };
      },
    },
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    signal: interrupt.signal,
    version: '9.9.9',
    pollIntervalMs: 1000,
    pollPatienceMs: 5000,
  };
  return {
    api,
    sleeps,
    saved,
    views,
    interrupt,
    run: async (...argv: string[]) => {
      const code = await run([...argv, '--url', BASE], {}, deps);
      return { code, stdout, stderr };
    },
    runBare: async (...argv: string[]) => {
      const code = await run(argv, {}, deps);
      return { code, stdout, stderr };
    },
  };
}

describe('upload', () => {
  it('prints the id alone on stdout and the rest on stderr', async () => {
    const h = harness();
    h.api.uploadAnswers = [accepted({ webhook_secret: 'whsec_abc' })];
    const r = await h.run(
      'upload',
      'p.csv',
      '--webhook',
      'https://example.com/h',
      '--idempotency-key',
      'k1',
    );
    expect(r).toEqual({
      code: 0,
      stdout: `${ID}\n`,
      stderr: [
        'accepted: 2 products, 3 images',
        `status: ${BASE}/status/${ID}`,
        "webhook secret: whsec_abc (verifies the webhook's signature; keep it)",
        '',
      ].join('\n'),
    });
    expect(h.api.uploads).toEqual([
      {
        csv: { path: 'p.csv', name: 'p.csv', size: 10 },
        fields: { webhook_url: 'https://example.com/h' },
        idempotencyKey: 'k1',
      },
    ]);
  });

  it('--wait: progress, summary, the output CSV under the default name, exit 0', async () => {
    const h = harness();
    h.api.statusAnswers = [
      { ok: true, value: statusOf('PENDING', 0, 0) },
      { ok: true, value: statusOf('PROCESSING', 1, 0) },
      { ok: true, value: statusOf('COMPLETED', 3, 0) },
    ];
    const r = await h.run('upload', 'p.csv', '--wait');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${ID}\n`);
    expect(h.views).toEqual([
      'PENDING 0 % | 0/3 images, 0 failed | – images/s | ETA –\n',
      'PROCESSING 33.3 % | 1/3 images, 0 failed | 1.0 images/s | ETA 2s\n',
      'COMPLETED 100 % | 3/3 images, 0 failed | 1.5 images/s | ETA 0s\n',
    ]);
    expect(r.stderr).toContain('COMPLETED: 3 compressed, 0 failed of 3 images in 4s\n');
    expect(r.stderr).toContain('bytes: 2.93 KiB in → 1.17 KiB out (saved 60.0 %)\n');
    expect(r.stderr).toContain(`output CSV: imgpipe-${ID}.csv (26 B)\n`);
    expect([...h.saved]).toEqual([[`imgpipe-${ID}.csv`, 'S. No.,Product Name\r\n1,A\r\n']]);
    expect(h.sleeps).toEqual([1000, 1000]);
  });

  it('--wait --out -: stdout is the output CSV alone, the id goes to stderr', async () => {
    const h = harness();
    h.api.statusAnswers = [{ ok: true, value: statusOf('COMPLETED', 3, 0) }];
    const r = await h.run('upload', 'p.csv', '--wait', '-o', '-');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`request: ${ID}\n`);
    expect([...h.saved]).toEqual([['-', 'S. No.,Product Name\r\n1,A\r\n']]);
  });

  it('COMPLETED_WITH_ERRORS: exit 0 with a warning and the failed images, across pages', async () => {
    const h = harness();
    h.api.statusAnswers = [{ ok: true, value: statusOf('COMPLETED_WITH_ERRORS', 1, 2) }];
    const product = (position: number, images: ReturnType<typeof image>[]) => ({
      position,
      serial_number: String(position * 10),
      product_name: `P${position}`,
      images,
    });
    h.api.pages.set('', {
      ok: true,
      value: statusOf('COMPLETED_WITH_ERRORS', 1, 2, 3, {
        products: [product(1, [image(1, 'COMPRESSED'), image(2, 'FAILED', 'HTTP_NOT_FOUND')])],
        images_page: { limit: 1000, next_cursor: 'c1' },
      }),
    });
    h.api.pages.set('c1', {
      ok: true,
      value: statusOf('COMPLETED_WITH_ERRORS', 1, 2, 3, {
        products: [product(2, [image(1, 'FAILED', 'TIMEOUT')])],
        images_page: { limit: 1000, next_cursor: null },
      }),
    });
    const r = await h.run('upload', 'p.csv', '--wait', '--out', 'r.csv');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      [
        'failed images:',
        '  product 1 (S. No. 10), image 2: HTTP_NOT_FOUND: the image URL answered 404 — http://origin/2.jpg',
        '  product 2 (S. No. 20), image 1: TIMEOUT: the image URL answered 404 — http://origin/1.jpg',
        'warning: 2 of 3 images failed; their Output Image Urls cells are empty.',
      ].join('\n'),
    );
    expect(h.api.pageQueries).toEqual([{ limit: 1000 }, { limit: 1000, cursor: 'c1' }]);
    expect(h.saved.has('r.csv')).toBe(true);
  });

  it('FAILED: exit 4, and no output CSV', async () => {
    const h = harness();
    h.api.statusAnswers = [{ ok: true, value: statusOf('FAILED', 0, 3) }];
    h.api.pages.set('', { ok: true, value: statusOf('FAILED', 0, 3, 3, { products: [] }) });
    const r = await h.run('upload', 'p.csv', '--wait');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('FAILED: 0 compressed, 3 failed of 3 images');
    expect(r.stderr).toContain(`3 images failed: imgpipe status ${ID} --url ${BASE} --images`);
    expect(r.stderr).toContain(`imgpipe: request ${ID} FAILED; no output CSV written.`);
    expect(h.saved.size).toBe(0);
  });

  it('a rejected CSV: exit 3, the problems line by line, nothing on stdout', async () => {
    const h = harness();
    h.api.uploadAnswers = [
      httpFailure(422, 'ERR_CSV_INVALID', {
        message: 'The CSV has 2 problems.',
        details: [
          {
            line: 3,
            column: 1,
            value: 'x',
            problem: 'serial number must be a positive whole number',
          },
          { line: 4, column: 3, value: null, problem: 'no image URL' },
        ],
      }),
    ];
    const r = await h.run('upload', 'p.csv', '--wait');
    expect(r).toEqual({
      code: 3,
      stdout: '',
      stderr: [
        'imgpipe: upload rejected: ERR_CSV_INVALID (HTTP 422): The CSV has 2 problems.',
        '  line 3, column 1: serial number must be a positive whole number (value: "x")',
        '  line 4, column 3: no image URL',
        '',
      ].join('\n'),
    });
  });

  it('503: retries after Retry-After (capped), then succeeds; without retries left, exit 6', async () => {
    const h = harness();
    h.api.uploadAnswers = [
      httpFailure(503, 'ERR_QUEUE_UNAVAILABLE', { retryAfterSeconds: 7 }),
      httpFailure(503, 'ERR_REQUEST_CLOSED', {
        retryAfterSeconds: 3600,
        details: { request_id: 'closed-1' },
      }),
      accepted(),
    ];
    const r = await h.run('upload', 'p.csv');
    expect(r.code).toBe(0);
    expect(h.sleeps).toEqual([7000, 60_000]);
    expect(r.stderr).toContain('retrying in 7 s (retry 1 of 2)');
    expect(r.stderr).toContain('  request_id: closed-1\nretrying in 60 s (retry 2 of 2)');
    expect(r.stdout).toBe(`${ID}\n`);

    const none = harness();
    none.api.uploadAnswers = [httpFailure(503, 'ERR_QUEUE_UNAVAILABLE', { retryAfterSeconds: 5 })];
    const gaveUp = await none.run('upload', 'p.csv', '--retry', '0');
    expect(gaveUp.code).toBe(6);
    expect(gaveUp.stderr).toContain('imgpipe: upload failed: ERR_QUEUE_UNAVAILABLE (HTTP 503)');
    expect(gaveUp.stderr).toContain('imgpipe asks to retry after 5 s.');
  });

  it('a network error is not retried (the upload may have been accepted)', async () => {
    const h = harness();
    h.api.uploadAnswers = [
      {
        ok: false,
        failure: {
          kind: 'network',
          url: `${BASE}/upload`,
          reason: 'connection reset (ECONNRESET)',
        },
      },
    ];
    const r = await h.run('upload', 'p.csv');
    expect(r.code).toBe(6);
    expect(h.api.uploads).toHaveLength(1);
    expect(r.stderr).toContain(`imgpipe: upload failed: cannot reach imgpipe at ${BASE}`);
  });

  it('Ctrl-C while waiting: exit 130 and how to resume', async () => {
    const h = harness();
    h.api.statusAnswers = [
      { ok: true, value: statusOf('PROCESSING', 1, 0) },
      () => {
        h.interrupt.abort();
        return { ok: false, failure: { kind: 'aborted', url: `${BASE}/status/${ID}` } };
      },
    ];
    const r = await h.run('upload', 'p.csv', '--wait');
    expect(r.code).toBe(130);
    expect(r.stdout).toBe(`${ID}\n`);
    expect(r.stderr).toContain(
      [
        `interrupted: request ${ID} keeps running on the server.`,
        `follow it:   imgpipe status ${ID} --url ${BASE}`,
        `when done:   imgpipe download ${ID} --url ${BASE}`,
      ].join('\n'),
    );
    expect(h.saved.size).toBe(0);
  });

  it('Ctrl-C before the answer: says it may or may not be accepted', async () => {
    const h = harness();
    h.api.uploadAnswers = [{ ok: false, failure: { kind: 'aborted', url: `${BASE}/upload` } }];
    const r = await h.run('upload', 'p.csv', '--idempotency-key', 'k');
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('the same --idempotency-key returns the same request');
  });

  it('polls through a passing outage with one warning, gives up after the patience', async () => {
    const h = harness();
    const down = {
      ok: false,
      failure: {
        kind: 'network',
        url: `${BASE}/status/${ID}`,
        reason: 'connection refused (ECONNREFUSED)',
      },
    } as const;
    h.api.statusAnswers = [down, down, down, { ok: true, value: statusOf('COMPLETED', 3, 0) }];
    const r = await h.run('upload', 'p.csv', '--wait');
    expect(r.code).toBe(0);
    expect(r.stderr.match(/warning: status poll failed/g)).toHaveLength(1);

    const g = harness();
    g.api.statusAnswers = [down];
    const gaveUp = await g.run('upload', 'p.csv', '--wait');
    expect(gaveUp.code).toBe(6);
    expect(g.api.polls).toBe(6); // 0 s … 5 s of patience, one poll a second
    expect(gaveUp.stderr).toContain(
      `The request may still be running: imgpipe status ${ID} --url ${BASE}`,
    );
  });

  it('checks the file and --out before sending anything (exit 2)', async () => {
    const h = harness({ missing: ['gone.csv'], unwritable: 'ro/out.csv' });
    expect(await h.run('upload', 'gone.csv')).toMatchObject({
      code: 2,
      stderr: "imgpipe: no such file: gone.csv\nRun 'imgpipe upload --help' for usage.\n",
    });
    const r = await h.run('upload', 'p.csv', '--wait', '--out', 'ro/out.csv');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out ro/out.csv: cannot write');
    expect(h.api.uploads).toEqual([]);
  });
});

describe('status', () => {
  it('summarises for people, hinting at --images when images failed', async () => {
    const h = harness();
    h.api.statusAnswers = [{ ok: true, value: statusOf('COMPLETED_WITH_ERRORS', 2, 1) }];
    const r = await h.run('status', ID);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status +COMPLETED_WITH_ERRORS$/m);
    expect(r.stderr).toBe(`1 failed; see why: imgpipe status ${ID} --url ${BASE} --images\n`);
  });

  it('--json prints the body as the API sent it', async () => {
    const h = harness();
    const body = statusOf('PROCESSING', 1, 0);
    h.api.statusAnswers = [{ ok: true, value: body }];
    const r = await h.run('status', ID, '--json');
    expect(JSON.parse(r.stdout)).toEqual(body);
  });

  it('--images follows every page; a product split across pages is one product', async () => {
    const h = harness();
    const products = (imgs: ReturnType<typeof image>[]) => [
      { position: 1, serial_number: '1', product_name: 'Lamp', images: imgs },
    ];
    h.api.pages.set('', {
      ok: true,
      value: statusOf('COMPLETED', 3, 0, 3, {
        products: products([image(1, 'COMPRESSED'), image(2, 'COMPRESSED')]),
        images_page: { limit: 1000, next_cursor: 'n' },
      }),
    });
    h.api.pages.set('n', {
      ok: true,
      value: statusOf('COMPLETED', 3, 0, 3, {
        products: products([image(3, 'COMPRESSED')]),
        images_page: { limit: 1000, next_cursor: null },
      }),
    });
    const human = await h.run('status', ID, '--images');
    expect(human.code).toBe(0);
    expect(human.stdout.match(/^product 1 {2}S\. No\. 1 {2}Lamp$/gm)).toHaveLength(1);
    expect(human.stdout.match(/^ {2}image \d {2}COMPRESSED/gm)).toHaveLength(3);

    const j = harness();
    j.api.pages = h.api.pages;
    const json = await j.run('status', ID, '--images', '--json');
    const merged = JSON.parse(json.stdout) as StatusBody;
    expect(merged.products).toEqual(
      products([image(1, 'COMPRESSED'), image(2, 'COMPRESSED'), image(3, 'COMPRESSED')]),
    );
    expect(merged.images_page).toEqual({ limit: 1000, next_cursor: null });
  });

  it('an unknown id: exit 3 with the 404 message', async () => {
    const h = harness();
    h.api.statusAnswers = [
      httpFailure(404, 'ERR_REQUEST_NOT_FOUND', { message: `No request ${ID}` }),
    ];
    expect(await h.run('status', ID)).toEqual({
      code: 3,
      stdout: '',
      stderr: `imgpipe: status rejected: ERR_REQUEST_NOT_FOUND (HTTP 404): No request ${ID}\n`,
    });
  });
});

describe('download', () => {
  it('writes the CSV to --out, or the default name', async () => {
    const h = harness();
    expect((await h.run('download', ID, '-o', 'x.csv')).code).toBe(0);
    expect((await h.run('download', ID)).stderr).toContain(`wrote imgpipe-${ID}.csv (26 B)`);
    expect([...h.saved.keys()]).toEqual(['x.csv', `imgpipe-${ID}.csv`]);
  });

  it('not done yet: exit 5 and where the request is', async () => {
    const h = harness();
    h.api.csv = httpFailure(409, 'ERR_REQUEST_NOT_DONE', {
      details: { status: 'PROCESSING', progress: { percent: 40 } },
    });
    const r = await h.run('download', ID);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe(
      [
        `imgpipe: request ${ID} is not done yet (PROCESSING, 40 %): its output CSV is written when every image is final.`,
        `Follow it with: imgpipe status ${ID} --url ${BASE}`,
        '',
      ].join('\n'),
    );
  });

  it('a file that cannot be written: exit 1; a download that breaks off: exit 6', async () => {
    const disk = harness({
      saveFails: { ok: false, side: 'destination', reason: 'no space left on the device' },
    });
    const full = await disk.run('download', ID, '-o', 'x.csv');
    expect(full).toMatchObject({
      code: 1,
      stderr: 'imgpipe: cannot write x.csv: no space left on the device\n',
    });
    const net = harness({ saveFails: { ok: false, side: 'source', reason: 'connection reset' } });
    expect((await net.run('download', ID)).code).toBe(6);
  });
});

describe('run', () => {
  it('bare imgpipe: the overview on stderr, exit 2; --version on stdout', async () => {
    const h = harness();
    const bare = await h.runBare();
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^Usage:$/m);
    expect(await harness().runBare('--version')).toEqual({
      code: 0,
      stdout: '9.9.9\n',
      stderr: '',
    });
  });
});
