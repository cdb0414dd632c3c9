/**
 * The CLI (issue #9, "CLI") as a user runs it: a real `imgpipe` process (`node cli/bin/imgpipe.js`,
 * and `npx --no-install imgpipe` from the repository root) against the whole stack on the test
 * engines. It asserts what the user sees: exit codes, stdout, stderr and the files written,
 * compared with what the HTTP API itself answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/env';
import { allImages, csvOf, status, upload, waitDone, type StatusBody } from './support/client';
import { startImageOrigin, type ImageOrigin } from './support/servers';
import { freePort, startStack, type Stack } from './support/stack';

const repoDir = path.resolve(__dirname, '..', '..');
const bin = path.join(repoDir, 'cli', 'bin', 'imgpipe.js');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack: Stack;
let origin: ImageOrigin;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'imgpipe-cli-e2e-'));
  [stack, origin] = await Promise.all([startStack(), startImageOrigin()]);
}, 300_000);
afterAll(async () => {
  origin?.release();
  await Promise.all([stack?.stop(), origin?.close()]);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  done: Promise<Ran>;
  /** stderr so far. */
  stderr(): string;
}

/** Starts the CLI as its own process; IMGPIPE_URL removed so only --url decides. */
function start(
  args: string[],
  opts: { via?: 'node' | 'npx'; cwd?: string; env?: Record<string, string> } = {},
): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (!opts.env?.IMGPIPE_URL) delete env.IMGPIPE_URL;
  const child =
    opts.via === 'npx'
      ? spawn('npx', ['--no-install', 'imgpipe', ...args], { cwd: opts.cwd ?? repoDir, env })
      : spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? repoDir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Ran>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

const imgpipe = (args: string[], opts: Parameters<typeof start>[1] = {}): Promise<Ran> =>
  start(args, opts).done;

const writeCsv = (name: string, text: string): string => {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
};

async function outputCsvBytes(id: string): Promise<Buffer> {
  const res = await fetch(`${stack.baseUrl}/requests/${id}/output.csv`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** ingest's count of accepted uploads, read off its /metrics. */
async function acceptedUploads(): Promise<number> {
  const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
  const line = /^imgpipe_uploads_total\{[^}]*outcome="accepted"[^}]*\} (\d+)/m.exec(text);
  if (!line) throw new Error('imgpipe_uploads_total{outcome="accepted"} not in /metrics');
  return Number(line[1]);
}

// Filled by the first test, read by the status/download ones.
let doneId: string;

describe('upload --wait', () => {
  it('prints the id, reports progress, and writes the output CSV the API serves (via npx)', async () => {
    const n = origin.names;
    const file = writeCsv(
      'products.csv',
      csvOf([
        {
          sn: 1,
          name: 'Runner Sneaker',
          urls: [origin.url(n[0]!, 'cli'), origin.url(n[1]!, 'cli')],
        },
        { sn: 2, name: 'Desk Lamp', urls: [origin.url(n[2]!, 'cli')] },
      ]),
    );
    const out = path.join(tmp, 'out.csv');
    // Held downloads keep the request PENDING until the CLI has shown its first progress.
    origin.hold();
    const run = start(
      ['upload', file, '--wait', '--out', out, '--quality', '60', '--url', stack.baseUrl],
      { via: 'npx' },
    );
    await waitFor(() => (/PENDING .*0\/3 images/.test(run.stderr()) ? true : undefined), {
      what: 'the first progress line on stderr',
      timeoutMs: 60_000,
    });
    origin.release();
    const { code, stdout, stderr } = await run.done;

    expect({ code, stderr }).toMatchObject({ code: 0 });
    // stdout is the id alone, so `id=$(imgpipe upload …)` works.
    expect(stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    doneId = stdout.trim();
    expect(doneId).toMatch(UUID);
    expect(stderr).toContain('accepted: 2 products, 3 images');
    expect(stderr).toContain(`status: ${stack.baseUrl}/status/${doneId}`);
    expect(stderr).toMatch(/COMPLETED 100 % \| 3\/3 images, 0 failed/);
    expect(stderr).toMatch(/COMPLETED: 3 compressed, 0 failed of 3 images/);
    expect(stderr).toMatch(/bytes: .* in → .* out/);
    expect(stderr).toContain(`output CSV: ${out}`);
    expect(readFileSync(out)).toEqual(await outputCsvBytes(doneId));
    expect((await status(stack.baseUrl, doneId)).status).toBe('COMPLETED');
  });

  it('ends non-zero when every image fails (FAILED), lists why, and writes no CSV', async () => {
    const file = writeCsv(
      'missing.csv',
      csvOf([
        { sn: 1, name: 'Gone', urls: [`${origin.base}/img/missing-1.jpg`] },
        { sn: 2, name: 'Also gone', urls: [`${origin.base}/img/missing-2.png`] },
      ]),
    );
    const out = path.join(tmp, 'failed.csv');
    const { code, stdout, stderr } = await imgpipe([
      'upload',
      file,
      '--wait',
      '--out',
      out,
      '--url',
      stack.baseUrl,
    ]);
    expect({ code, stderr }).toMatchObject({ code: 4 });
    const id = stdout.trim();
    expect(id).toMatch(UUID);
    expect((await status(stack.baseUrl, id)).status).toBe('FAILED');
    expect(stderr).toMatch(/FAILED: 0 compressed, 2 failed of 2 images/);
    expect(stderr).toContain('failed images:');
    expect(stderr).toMatch(/product 1 \(S\. No\. 1\), image 1: HTTP_NOT_FOUND.*missing-1\.jpg/);
    expect(stderr).toMatch(/product 2 \(S\. No\. 2\), image 1: HTTP_NOT_FOUND.*missing-2\.png/);
    expect(stderr).toContain('no output CSV written');
    expect(existsSync(out)).toBe(false);
  });

  it('stops following on Ctrl-C, says how to resume, and the request goes on', async () => {
    const file = writeCsv(
      'interrupted.csv',
      csvOf([{ sn: 1, name: 'Watch', urls: [origin.url(origin.names[3]!, 'sigint')] }]),
    );
    origin.hold();
    const run = start(['upload', file, '--wait', '--url', stack.baseUrl]);
    await waitFor(() => (/0\/1 images/.test(run.stderr()) ? true : undefined), {
      what: 'the first progress line',
      timeoutMs: 60_000,
    });
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.done;
    origin.release();
    expect({ code, stderr }).toMatchObject({ code: 130 });
    const id = stdout.trim();
    expect(stderr).toContain(`interrupted: request ${id} keeps running on the server.`);
    expect(stderr).toContain(`imgpipe status ${id} --url ${stack.baseUrl}`);
    // It kept running server-side: it completes without the CLI.
    expect((await waitDone(stack.baseUrl, id)).final.status).toBe('COMPLETED');
  });
});

describe('upload rejected', () => {
  it('lists every CSV problem by line and column, exits non-zero, and accepts nothing', async () => {
    const file = writeCsv(
      'invalid.csv',
      [
        'S. No.,Product Name,Input Image Urls',
        `1,Good,${origin.url(origin.names[0]!)}`,
        `abc,Bad serial,${origin.url(origin.names[1]!)}`,
        '3,Bad URL,ftp://example.com/a.jpg',
        '4,,',
      ].join('\n'),
    );
    const before = await acceptedUploads();
    const { code, stdout, stderr } = await imgpipe(['upload', file, '--url', stack.baseUrl]);
    expect({ code, stderr }).toMatchObject({ code: 3 });
    expect(stdout).toBe('');
    expect(stderr).toMatch(/imgpipe: upload rejected: ERR_CSV_INVALID \(HTTP 422\)/);
    const problems = stderr.split('\n').filter((l) => /^ {2}line \d/.test(l));
    expect(problems).toEqual([
      expect.stringMatching(
        /^ {2}line 3, column 1: serial number must be a positive whole number \(value: "abc"\)$/,
      ),
      expect.stringMatching(/^ {2}line 4, column 3: .*\(value: "ftp:\/\/example\.com\/a\.jpg"\)$/),
      expect.stringMatching(/^ {2}line 5, column 2: product name is empty$/),
      expect.stringMatching(/^ {2}line 5, column 3: no image URL/),
    ]);
    expect(await acceptedUploads()).toBe(before);
  });
});

describe('status', () => {
  it('summarises a request for people', async () => {
    const { code, stdout, stderr } = await imgpipe(['status', doneId, '--url', stack.baseUrl]);
    expect({ code, stderr }).toMatchObject({ code: 0, stderr: '' });
    expect(stdout).toMatch(new RegExp(`^request +${doneId}$`, 'm'));
    expect(stdout).toMatch(/^status +COMPLETED$/m);
    expect(stdout).toMatch(/^progress +100 % \(3 compressed, 0 failed, 0 pending of 3 images\)$/m);
    expect(stdout).toContain(`${stack.baseUrl}/requests/${doneId}/output.csv`);
  });

  it('--json prints the status API body; --images --json every image', async () => {
    const json = await imgpipe(['status', doneId, '--json', '--url', stack.baseUrl]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await status(stack.baseUrl, doneId));

    const images = await imgpipe(['status', doneId, '--images', '--json', '--url', stack.baseUrl]);
    expect(images.code).toBe(0);
    const body = JSON.parse(images.stdout) as StatusBody;
    expect(body.products).toEqual(await allImages(stack.baseUrl, doneId));
    expect(body.images_page?.next_cursor).toBeNull();

    const human = await imgpipe(['status', doneId, '--images', '--url', stack.baseUrl]);
    expect(human.code).toBe(0);
    expect(human.stdout.match(/^ {2}image \d+ {2}COMPRESSED /gm)).toHaveLength(3);
    expect(human.stdout).toMatch(/^product 2 {2}S\. No\. 2 {2}Desk Lamp$/m);
  });

  it('an unknown id exits non-zero with the 404 message', async () => {
    const unknown = randomUUID();
    const { code, stdout, stderr } = await imgpipe(['status', unknown, '--url', stack.baseUrl]);
    expect(code).toBe(3);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `imgpipe: status rejected: ERR_REQUEST_NOT_FOUND (HTTP 404): No request ${unknown}`,
    );
  });
});

describe('download', () => {
  it('writes the output CSV to the default file, to --out, and to stdout', async () => {
    const expected = await outputCsvBytes(doneId);

    const byDefault = await imgpipe(['download', doneId, '--url', stack.baseUrl], { cwd: tmp });
    expect(byDefault.code).toBe(0);
    expect(readFileSync(path.join(tmp, `imgpipe-${doneId}.csv`))).toEqual(expected);

    const out = path.join(tmp, 'downloaded.csv');
    const toFile = await imgpipe(['download', doneId, '--out', out, '--url', stack.baseUrl]);
    expect(toFile.code).toBe(0);
    expect(toFile.stderr).toContain(`wrote ${out}`);
    expect(readFileSync(out)).toEqual(expected);

    const toStdout = await imgpipe(['download', doneId, '-o', '-', '--url', stack.baseUrl]);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout).toBe(expected.toString('utf8'));
  });

  it('a request that is not done yet exits non-zero, saying so, and writes nothing', async () => {
    origin.hold();
    const accepted = await upload(
      stack.baseUrl,
      csvOf([{ sn: 1, name: 'Pending', urls: [origin.url(origin.names[4]!, 'not-done')] }]),
    );
    expect(accepted.status).toBe(202);
    const id = accepted.body.request_id;
    const out = path.join(tmp, 'not-done.csv');
    const { code, stderr } = await imgpipe(['download', id, '--out', out, '--url', stack.baseUrl]);
    origin.release();
    expect(code).toBe(5);
    expect(stderr).toMatch(new RegExp(`request ${id} is not done yet \\((PENDING|PROCESSING)`));
    expect(stderr).toContain(`imgpipe status ${id} --url ${stack.baseUrl}`);
    expect(existsSync(out)).toBe(false);
    await waitDone(stack.baseUrl, id);
  });
});

describe('unreachable base URL', () => {
  it('exits non-zero naming the URL, for each command', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const file = writeCsv(
      'any.csv',
      csvOf([{ sn: 1, name: 'A', urls: [origin.url(origin.names[0]!)] }]),
    );
    for (const args of [
      ['upload', file],
      ['status', doneId],
      ['download', doneId, '-o', '-'],
    ]) {
      const { code, stdout, stderr } = await imgpipe([...args, '--url', dead]);
      expect({ args, code, stdout }).toEqual({ args, code: 6, stdout: '' });
      expect(stderr).toContain(`cannot reach imgpipe at ${dead}`);
      expect(stderr).toContain('connection refused (ECONNREFUSED)');
    }
    // IMGPIPE_URL is the default when --url is not given.
    const viaEnv = await imgpipe(['status', doneId], { env: { IMGPIPE_URL: dead } });
    expect(viaEnv.code).toBe(6);
    expect(viaEnv.stderr).toContain(`cannot reach imgpipe at ${dead}`);
  });
});

describe('usage', () => {
  /** A server that counts requests: a usage error must send none. */
  let hits = 0;
  let counter: http.Server;
  let counterUrl: string;
  beforeAll(async () => {
    counter = http.createServer((_req, res) => {
      hits += 1;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
    counterUrl = `http://127.0.0.1:${(counter.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => counter.close(() => resolve())));

  it('rejects bad command lines with exit code 2 before sending anything', async () => {
    const file = writeCsv(
      'usage.csv',
      csvOf([{ sn: 1, name: 'A', urls: [origin.url(origin.names[0]!)] }]),
    );
    const cases: [string[], RegExp][] = [
      [[], /^Usage:/m],
      [['compress', file], /unknown command "compress"/],
      [['stat', doneId], /did you mean status\?/],
      [['upload'], /upload needs the CSV file/],
      [['upload', path.join(tmp, 'nope.csv')], /no such file: .*nope\.csv/],
      [['upload', tmp], /is a directory, not a CSV file/],
      [
        ['upload', file, '--quality', '0'],
        /--quality must be a whole number from 1 to 100, got "0"/,
      ],
      [['upload', file, '--quality', 'high'], /--quality must be a whole number from 1 to 100/],
      [['upload', file, '--format', 'gif'], /--format must be one of keep, jpeg, webp, avif/],
      [
        ['upload', file, '--max-dimension', '20000'],
        /--max-dimension must be a whole number from 1 to 16384/,
      ],
      [['upload', file, '--webhook', 'not a url'], /--webhook must be an absolute http\(s\) URL/],
      [['upload', file, '--email', 'nobody'], /--email must be an email address/],
      [['upload', file, '--out', 'x.csv'], /--out is written once the request is done: add --wait/],
      [
        ['upload', file, '--wait', '--out', path.join(tmp, 'no', 'such', 'dir.csv')],
        /cannot write in/,
      ],
      [['upload', file, '--colour', 'red'], /unknown option --colour for imgpipe upload/],
      [['status'], /status needs a request id/],
      [['status', 'not-an-id'], /request id must be a UUID/],
      [['download', doneId, 'extra'], /download takes one request id, got 2/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await imgpipe([
        ...args,
        ...(args.length ? ['--url', counterUrl] : []),
      ]);
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' });
      // The command line leads the text, so a failure says which case it was.
      expect(`imgpipe ${args.join(' ')}\n${stderr}`).toMatch(message);
    }
    const badUrl = await imgpipe(['status', doneId, '--url', 'ftp://example.com']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--url must be an http(s) URL, got "ftp://example.com"');
    expect(hits).toBe(0);
  });

  it('prints help and the version (via npx too)', async () => {
    const help = await imgpipe(['--help'], { via: 'npx' });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('imgpipe upload <file.csv> [options]');
    expect(help.stdout).toMatch(/^Exit codes:$/m);

    const uploadHelp = await imgpipe(['upload', '--help', '--quality', '999']);
    expect(uploadHelp.code).toBe(0);
    expect(uploadHelp.stdout).toContain('Usage: imgpipe upload <file.csv> [options]');
    expect(uploadHelp.stdout).toContain('--idempotency-key K');

    const version = await imgpipe(['--version']);
    const pkg = JSON.parse(readFileSync(path.join(repoDir, 'cli', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});
