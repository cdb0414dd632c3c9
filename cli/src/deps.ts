/**
 * What the commands need from the outside world, injected so the unit tests drive them with
 * in-memory fakes (an {@link ImgpipeApi} fake, recorded output, a fake clock) and main.ts
 * wires the real ones. Nothing here reads process.env or installs signal handlers.
 */
import type { CsvFile, ImgpipeApi } from './api';
import type { ProgressView } from './progress';

export interface TextSink {
  write(text: string): void;
}

export type SaveResult =
  | { ok: true; bytes: number }
  /** `side`: whether reading the download or writing the file failed (different advice). */
  | { ok: false; side: 'source' | 'destination'; reason: string };

/** The local file system, as far as the CLI touches it. */
export interface LocalFiles {
  /** The CSV to upload (size and name), or why it cannot be uploaded ("no such file: x.csv"). */
  inspectCsv(path: string): Promise<{ ok: true; csv: CsvFile } | { ok: false; reason: string }>;
  /**
   * Why `dest` could not be written (a missing directory, a directory in its place), or
   * undefined. Checked before uploading and waiting, so it fails in a moment, not after the wait.
   */
  checkWritable(dest: string): Promise<string | undefined>;
  /** Streams `source` to `dest` (`-` = stdout); a file appears only once complete. */
  save(source: AsyncIterable<Uint8Array>, dest: string): Promise<SaveResult>;
}

export interface CliDeps {
  api(baseUrl: string): ImgpipeApi;
  /** Machine-readable output only: the request id, JSON, a CSV sent to `-`. */
  stdout: TextSink;
  /** Everything for people: progress, summaries, warnings, errors. */
  stderr: TextSink;
  /** A progress renderer for `upload --wait` (a bar on a terminal, plain lines otherwise). */
  progressView(): ProgressView;
  files: LocalFiles;
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Aborted on Ctrl-C: in-flight calls stop and the command reports how to resume. */
  signal: AbortSignal;
  version: string;
  /** Time between status polls of `upload --wait`. */
  pollIntervalMs: number;
  /** How long `--wait` keeps polling through failed polls before giving up. */
  pollPatienceMs: number;
}
