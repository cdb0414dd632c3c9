import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import busboy, { type Busboy, type FileInfo } from 'busboy';
import { SpoolFile } from '../adapters/spool-file';
import { CsvChecker, type CsvCheckResult } from '../domain/csv/csv-checker';
import { UploadCodes, UploadError } from '../domain/errors';
import type { UploadLimits } from '../domain/limits';
import type { UploadedFile } from '../domain/ports';

/** The file part's declared type: what browsers, curl and spreadsheet tools send for a CSV. */
const CSV_MIME_TYPES = new Set([
  'text/csv',
  'text/plain',
  'application/csv',
  'text/x-csv',
  'application/x-csv',
  'text/comma-separated-values',
  'text/x-comma-separated-values',
  'application/vnd.ms-excel',
  'application/octet-stream',
  '',
]);

export const FILE_FIELD = 'file';

/** Room for the multipart framing and the small form fields around the file. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

const tooLarge = (limits: UploadLimits) =>
  new UploadError(
    413,
    UploadCodes.fileTooLarge,
    `The file is larger than ${limits.maxFileBytes} bytes (${(limits.maxFileBytes / 1024 / 1024).toFixed(1)} MiB); split it into several files`,
  );

export interface MultipartOptions {
  limits: UploadLimits;
  spoolDir: string;
}

/** A well-formed multipart upload with one CSV file; `dispose()` deletes the spooled copy. */
export interface ReceivedUpload {
  fields: Map<string, string[]>;
  file: UploadedFile;
  /** The CSV checker's verdict (the caller decides in which order to report problems). */
  csv: CsvCheckResult;
  dispose(): Promise<void>;
}

interface FilePart {
  spool: SpoolFile;
  checker: CsvChecker;
  truncated: boolean;
  done: Promise<void>;
}

/**
 * Reads a multipart/form-data upload with busboy, streaming the `file` part through a spool
 * file (hash + copy on disk) into the CSV checker, so the whole file is validated as it
 * arrives without being held in memory. Resolves once the body is fully read (every part is
 * consumed even after a problem, so the client always gets an answer) with the CSV verdict,
 * or throws the UploadError that says what is wrong with the request itself (not
 * multipart, no file, two files, too large...); nothing is left on disk when it throws.
 */
export async function receiveUpload(
  req: IncomingMessage,
  options: MultipartOptions,
): Promise<ReceivedUpload> {
  const { limits } = options;
  const contentType = req.headers['content-type'] ?? '';
  if (
    !/^multipart\/form-data\s*;/i.test(contentType) &&
    !/^multipart\/form-data$/i.test(contentType)
  ) {
    throw new UploadError(
      415,
      UploadCodes.notMultipart,
      `Expected Content-Type multipart/form-data with the CSV in a "${FILE_FIELD}" field, got ${contentType === '' ? 'none' : JSON.stringify(contentType.slice(0, 100))}`,
    );
  }

  // A declared body far over the limit is refused before reading it (the form's other parts
  // are small: fields are capped at 20 x 8 KiB); anything closer is read and cut by busboy.
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxFileBytes + FORM_OVERHEAD_BYTES) {
    throw tooLarge(limits);
  }

  let bb: Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: {
        // One more than allowed, so that a second file is seen and reported as such.
        files: 2,
        fileSize: limits.maxFileBytes,
        fields: 20,
        fieldSize: 8 * 1024,
        fieldNameSize: 100,
        parts: 24,
        headerPairs: 100,
      },
    });
  } catch (err) {
    throw new UploadError(
      400,
      UploadCodes.multipart,
      `Malformed multipart request: ${(err as Error).message}`,
    );
  }

  const fields = new Map<string, string[]>();
  let problem: UploadError | undefined;
  let file: FilePart | undefined;
  let files = 0;
  const fail = (e: UploadError) => {
    // The first problem found is the one reported.
    problem ??= e;
  };

  const onFile = (name: string, stream: Readable, info: FileInfo) => {
    files += 1;
    if (name !== FILE_FIELD) {
      fail(
        new UploadError(
          400,
          UploadCodes.multipart,
          `Unexpected file field "${name.slice(0, 100)}"; send the CSV in the "${FILE_FIELD}" field`,
        ),
      );
      stream.resume();
      return;
    }
    if (files > 1 || file !== undefined) {
      fail(new UploadError(400, UploadCodes.tooManyFiles, 'Send exactly one file per upload'));
      stream.resume();
      return;
    }
    const mime = info.mimeType.toLowerCase();
    if (!CSV_MIME_TYPES.has(mime)) {
      fail(
        new UploadError(
          415,
          UploadCodes.fileType,
          `The file is ${mime}, not CSV; upload a .csv file (text/csv)`,
          [{ field: FILE_FIELD, value: mime, problem: 'not a CSV content type' }],
        ),
      );
      stream.resume();
      return;
    }
    const spool = new SpoolFile(options.spoolDir);
    const checker = new CsvChecker(limits);
    const part: FilePart = { spool, checker, truncated: false, done: Promise.resolve() };
    file = part;
    stream.on('limit', () => {
      part.truncated = true;
    });
    // busboy fails the file stream when the body ends mid-part; pipe() does not forward that.
    stream.on('error', (err) => spool.destroy(err));
    spool.pipe(checker);
    stream.pipe(spool);
    part.done = Promise.all([finished(spool), finished(checker)]).then(
      () => undefined,
      (err: unknown) => {
        // Keep consuming the part, or busboy never finishes and the client never gets an answer.
        stream.unpipe(spool);
        stream.resume();
        throw err;
      },
    );
    // Errors surface where `done` is awaited.
    part.done.catch(() => undefined);
  };

  const body = new Promise<void>((resolve, reject) => {
    bb.on('file', onFile);
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(
          new UploadError(
            400,
            UploadCodes.fieldInvalid,
            `Form field "${name.slice(0, 100)}" is too long`,
            [{ field: name.slice(0, 100), value: null, problem: 'value too long' }],
          ),
        );
        return;
      }
      const values = fields.get(name) ?? [];
      values.push(value);
      fields.set(name, values);
    });
    bb.on('filesLimit', () =>
      fail(new UploadError(400, UploadCodes.tooManyFiles, 'Send exactly one file per upload')),
    );
    bb.on('fieldsLimit', () =>
      fail(new UploadError(400, UploadCodes.multipart, 'Too many form fields')),
    );
    bb.on('partsLimit', () =>
      fail(new UploadError(400, UploadCodes.multipart, 'Too many parts in the multipart body')),
    );
    bb.on('error', (err: Error) => {
      fail(
        new UploadError(400, UploadCodes.multipart, `Malformed multipart request: ${err.message}`),
      );
      req.unpipe(bb);
      req.resume();
      resolve();
    });
    bb.on('close', () => resolve());
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away during the upload'));
    });
  });
  req.pipe(bb);

  // Also used when the client went away mid-upload: destroying the streams settles `done`.
  const dispose = async (part: FilePart | undefined) => {
    if (part === undefined) return;
    part.spool.destroy();
    part.checker.destroy();
    await part.done.catch(() => undefined);
    await part.spool.dispose();
  };

  try {
    await body;
    // A broken body also fails the file's streams: report the multipart problem, not that.
    if (file !== undefined)
      await file.done.catch((err: unknown) => {
        if (problem === undefined) throw err;
      });
    if (file?.truncated === true) throw tooLarge(limits);
    if (problem !== undefined) throw problem;
    if (file === undefined) {
      throw new UploadError(
        400,
        UploadCodes.fileMissing,
        `No file: send the CSV as multipart/form-data in a "${FILE_FIELD}" field`,
      );
    }
    const part = file;
    return {
      fields,
      file: part.spool.file(),
      csv: part.checker.result(),
      dispose: () => dispose(part),
    };
  } catch (err) {
    await dispose(file);
    throw err;
  }
}
