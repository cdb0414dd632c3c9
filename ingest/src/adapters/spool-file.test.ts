import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { SpoolFile, ensureSpoolDir } from './spool-file';

describe('SpoolFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'imgpipe-spool-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes the bytes on unchanged, keeps a copy with its size and SHA-256, and deletes it', async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
    const passed: Buffer[] = [];
    const spool = new SpoolFile(dir);
    await pipeline(
      Readable.from(chunks),
      spool,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          passed.push(chunk);
          cb();
        },
      }),
    );
    const all = Buffer.concat(chunks);
    expect(Buffer.concat(passed).equals(all)).toBe(true);
    const file = spool.file();
    expect(file.size).toBe(all.length);
    expect(file.sha256).toBe(createHash('sha256').update(all).digest('hex'));
    const copies: Buffer[] = [];
    for await (const c of file.open()) copies.push(c as Buffer);
    expect(Buffer.concat(copies).equals(all)).toBe(true);
    expect((await readFile(spool.filePath)).length).toBe(all.length);

    await spool.dispose();
    await spool.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  it('start-up sweep deletes only spool files old enough to belong to a dead process', async () => {
    const old = path.join(dir, 'old.csv');
    const fresh = path.join(dir, 'fresh.csv');
    const other = path.join(dir, 'notes.txt');
    await Promise.all([writeFile(old, 'x'), writeFile(fresh, 'y'), writeFile(other, 'z')]);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(old, twoHoursAgo, twoHoursAgo);
    await utimes(other, twoHoursAgo, twoHoursAgo);
    expect(await ensureSpoolDir(dir)).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['fresh.csv', 'notes.txt']);
  });
});
