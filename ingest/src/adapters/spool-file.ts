import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import type { UploadedFile } from '../domain/ports';

/**
 * Pass-through that writes every byte of an upload to a temporary file and hashes it, so the
 * CSV can be validated as it streams in and stored afterwards without holding it in memory.
 * Backpressure: a chunk is passed on only once the disk accepted it.
 */
export class SpoolFile extends Transform {
  private readonly out: WriteStream;
  private readonly hash = createHash('sha256');
  private size = 0;
  private sha256: string | undefined;

  readonly filePath: string;

  /** A new spool file in `dir`, which must exist (see `ensureSpoolDir`). */
  constructor(dir: string) {
    super();
    this.filePath = path.join(dir, `${randomUUID()}.csv`);
    // 'wx': never follow or reuse an existing path.
    this.out = createWriteStream(this.filePath, { flags: 'wx', mode: 0o600 });
    this.out.on('error', (err) => this.destroy(err));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.out.write(chunk)) callback(null, chunk);
    else this.out.once('drain', () => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    this.sha256 = this.hash.digest('hex');
    this.out.end(() => callback());
  }

  /** The spooled file; only after the stream finished. */
  file(): UploadedFile {
    const sha256 = this.sha256;
    if (sha256 === undefined) throw new Error('spool not finished');
    const filePath = this.filePath;
    return { size: this.size, sha256, open: () => createReadStream(filePath) };
  }

  /** Deletes the temporary file (idempotent). */
  async dispose(): Promise<void> {
    if (!this.out.closed) {
      await new Promise<void>((resolve) => {
        this.out.once('close', resolve);
        this.out.destroy();
      });
    }
    await rm(this.filePath, { force: true });
  }
}

/**
 * Creates the spool directory (private to this user) if missing, and deletes spool files a
 * crashed process left behind. Only files older than `staleAfterMs` go: another ingest on the
 * same host may be using the directory, and no upload lasts that long (the HTTP server's
 * request timeout is shorter).
 */
export async function ensureSpoolDir(dir: string, staleAfterMs = 60 * 60 * 1000): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.csv')) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > staleAfterMs) {
      await rm(file, { force: true });
      removed += 1;
    }
  }
  return removed;
}
