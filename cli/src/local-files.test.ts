import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { createLocalFiles } from './local-files';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'imgpipe-cli-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (stdout = new PassThrough()) => createLocalFiles(stdout);

async function* chunks(...parts: string[]) {
  for (const p of parts) {
    await Promise.resolve();
    yield Buffer.from(p);
  }
}

async function* brokenAfter(part: string) {
  yield Buffer.from(part);
  await Promise.resolve();
  throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

describe('inspectCsv', () => {
  it('gives name and size of a readable file, and says why otherwise', async () => {
    const file = path.join(dir, 'products.csv');
    writeFileSync(file, 'abc');
    expect(await files().inspectCsv(file)).toEqual({
      ok: true,
      csv: { path: file, name: 'products.csv', size: 3 },
    });
    expect(await files().inspectCsv(path.join(dir, 'nope.csv'))).toEqual({
      ok: false,
      reason: `no such file: ${path.join(dir, 'nope.csv')}`,
    });
    expect(await files().inspectCsv(dir)).toEqual({
      ok: false,
      reason: `${dir} is a directory, not a CSV file`,
    });
  });
});

describe('checkWritable', () => {
  it('accepts a new file in an existing directory, and stdout', async () => {
    expect(await files().checkWritable(path.join(dir, 'out.csv'))).toBeUndefined();
    expect(await files().checkWritable('-')).toBeUndefined();
  });

  it('names a missing directory or a directory given as the file', async () => {
    expect(await files().checkWritable(path.join(dir, 'no', 'out.csv'))).toMatch(
      /cannot write in .*no: no such file or directory$/,
    );
    mkdirSync(path.join(dir, 'sub'));
    expect(await files().checkWritable(path.join(dir, 'sub'))).toMatch(
      /is a directory; give a file name/,
    );
  });
});

describe('save', () => {
  it('writes the whole stream, then the file appears', async () => {
    const out = path.join(dir, 'out.csv');
    expect(await files().save(chunks('a,b\r\n', '1,2\r\n'), out)).toEqual({ ok: true, bytes: 10 });
    expect(readFileSync(out, 'utf8')).toBe('a,b\r\n1,2\r\n');
    expect(readdirSync(dir)).toEqual(['out.csv']);
  });

  it('a download that breaks off leaves no file, not even a partial one', async () => {
    const out = path.join(dir, 'out.csv');
    expect(await files().save(brokenAfter('a,b\r\n'), out)).toEqual({
      ok: false,
      side: 'source',
      reason: 'socket hang up',
    });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a file that cannot be written is the destination’s fault', async () => {
    expect(await files().save(chunks('x'), path.join(dir, 'no', 'out.csv'))).toEqual({
      ok: false,
      side: 'destination',
      reason: 'no such file or directory',
    });
  });

  it('- writes to stdout without ending it', async () => {
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (c: Buffer) => (text += c.toString()));
    expect(await files(stdout).save(chunks('a', 'b'), '-')).toEqual({ ok: true, bytes: 2 });
    expect(text).toBe('ab');
    expect(stdout.writableEnded).toBe(false);
  });
});
