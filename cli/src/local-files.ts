/** The node:fs adapter of {@link LocalFiles}. */
import { constants, createWriteStream } from 'node:fs';
import { access, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { LocalFiles, SaveResult } from './deps';

const reasonOf = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'no space left on the device';
  return err instanceof Error ? err.message : String(err);
};

/** Marks errors of the download stream, to tell them from errors writing the file. */
class SourceError extends Error {}

export function createLocalFiles(stdout: NodeJS.WritableStream): LocalFiles {
  return {
    async inspectCsv(file) {
      try {
        const st = await stat(file);
        if (st.isDirectory())
          return { ok: false, reason: `${file} is a directory, not a CSV file` };
        if (!st.isFile()) return { ok: false, reason: `${file} is not a regular file` };
        await access(file, constants.R_OK);
        return { ok: true, csv: { path: file, name: path.basename(file), size: st.size } };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return {
          ok: false,
          reason:
            code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${reasonOf(err)}`,
        };
      }
    },

    async checkWritable(dest) {
      if (dest === '-') return undefined;
      try {
        if ((await stat(dest)).isDirectory())
          return `--out ${dest} is a directory; give a file name`;
      } catch {
        // Not there yet: the usual case.
      }
      const dir = path.dirname(path.resolve(dest));
      try {
        if (!(await stat(dir)).isDirectory()) return `--out ${dest}: ${dir} is not a directory`;
        await access(dir, constants.W_OK);
        return undefined;
      } catch (err) {
        return `--out ${dest}: cannot write in ${dir}: ${reasonOf(err)}`;
      }
    },

    async save(source, dest): Promise<SaveResult> {
      let bytes = 0;
      async function* counted() {
        try {
          for await (const chunk of source) {
            bytes += chunk.length;
            yield chunk;
          }
        } catch (err) {
          throw new SourceError(reasonOf(err), { cause: err });
        }
      }
      const failed = (err: unknown): SaveResult =>
        err instanceof SourceError
          ? { ok: false, side: 'source', reason: err.message }
          : { ok: false, side: 'destination', reason: reasonOf(err) };
      if (dest === '-') {
        try {
          await pipeline(counted(), stdout, { end: false });
          return { ok: true, bytes };
        } catch (err) {
          return failed(err);
        }
      }
      // Written beside the target and renamed when complete: a file at `dest` is always a
      // whole output CSV, never the first half of a download that broke off.
      const partial = `${dest}.part`;
      try {
        await pipeline(counted(), createWriteStream(partial));
        await rename(partial, dest);
        return { ok: true, bytes };
      } catch (err) {
        await unlink(partial).catch(() => undefined);
        return failed(err);
      }
    },
  };
}
