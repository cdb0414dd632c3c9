import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, type CsvError, type Parser } from 'csv-parse';
import type { CsvProblem } from '../errors';
import { MAX_REPORTED_PROBLEMS, UploadCodes, UploadError, excerpt } from '../errors';
import type { UploadLimits } from '../limits';
import { EXPECTED_HEADER, matchHeader, type HeaderLayout } from './header';
import { checkRow, type ProductRow } from './row';
import { firstInvalidUtf8 } from './utf8';

export type CsvCheckResult =
  | {
      ok: true;
      products: ProductRow[];
      images: number;
      /** Bytes read (the file size). */
      bytes: number;
    }
  | { ok: false; error: UploadError; bytes: number };

/** A problem that stops reading the file: nothing after it can be interpreted. */
interface Fatal {
  status: 415 | 422;
  code: string;
  message: string;
  problems: CsvProblem[];
}

const NEWLINE = 0x0a;

const countNewlines = (buf: Uint8Array, end = buf.length): number => {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE); i !== -1 && i < end; i = buf.indexOf(NEWLINE, i + 1)) n += 1;
  return n;
};

/**
 * Line breaks inside a record's (quoted) fields: as csv-parse counts them in `info.lines`
 * (every CR and every LF, so a CRLF counts twice) and as a person counts them (CRLF once).
 */
const breaksIn = (fields: readonly string[]): { parser: number; physical: number } => {
  let parser = 0;
  let physical = 0;
  for (const f of fields) {
    if (!f.includes('\n') && !f.includes('\r')) continue;
    for (let i = 0; i < f.length; i += 1) {
      const c = f.charCodeAt(i);
      if (c === 0x0a) {
        parser += 1;
        physical += 1;
      } else if (c === 0x0d) {
        parser += 1;
        if (f.charCodeAt(i + 1) !== 0x0a) physical += 1;
      }
    }
  }
  return { parser, physical };
};

/** What a person should do about each csv-parse syntax error. */
const syntaxHint = (err: CsvError): string => {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed: add the missing closing double quote (")';
    case 'INVALID_OPENING_QUOTE':
      return 'a double quote (") inside an unquoted field: put the whole field in double quotes and double the quote inside ("")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'text follows a closing double quote: a field that starts with " must end with " right before the comma or line end (write "" for a quote inside)';
    case 'CSV_MAX_RECORD_SIZE':
      return 'the row is far too long (an unclosed quote or a wrong separator?)';
    default:
      return `the file is not valid CSV (${err.message})`;
  }
};

/**
 * Streaming CSV validation (issue #4, "CSV rules"): write the upload's bytes in, read
 * `result()` after `finish`. Memory stays flat as files grow: bytes are parsed as they come
 * and only the accepted rows are kept (a few hundred bytes each, bounded by the row limit);
 * once the file is known to be rejected, rows are no longer kept at all. After a problem that
 * stops reading (binary, bad encoding, broken quoting, too many rows/images, bad header) the
 * rest of the input is consumed and ignored, so the caller can always drain the upload.
 */
export class CsvChecker extends Writable {
  private readonly parser: Parser;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private bytes = 0;
  private linesBefore = 0;
  private sawContent = false;
  private fatal: Fatal | undefined;
  private layout: HeaderLayout | undefined;
  private readonly problems: CsvProblem[] = [];
  private problemCount = 0;
  private products: ProductRow[] = [];
  private readonly serials = new Map<string, number>();
  private rows = 0;
  private images = 0;
  private lastRecordEnd = 0;
  private lineDrift = 0;
  private parserDone: Promise<void>;

  constructor(private readonly limits: UploadLimits) {
    super();
    this.parser = parse({
      bom: true,
      info: true,
      // Field counts are checked here: extra fields may be the unquoted extra URLs.
      relax_column_count: true,
      relax_quotes: false,
      skip_empty_lines: true,
      cast: false,
      // Bounds the parser's buffer: the longest legitimate row is maxUrlsPerRow URLs of
      // maxUrlLength plus a name; anything beyond is a broken quote or a wrong separator.
      max_record_size: limits.maxUrlsPerRow * (limits.maxUrlLength + 3) + 8 * 1024,
    });
    this.parser.on('data', (data: { record: string[]; info: { lines: number } }) => {
      this.onRecord(data.record, data.info.lines);
    });
    this.parserDone = new Promise((resolve) => {
      this.parser.once('end', resolve);
      this.parser.once('close', resolve);
      this.parser.once('error', (err: CsvError) => {
        this.onSyntaxError(err);
        resolve();
      });
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (e?: Error) => void): void {
    if (this.fatal !== undefined) {
      this.bytes += chunk.length;
      callback();
      return;
    }
    if (this.bytes === 0) this.sniff(chunk);
    this.bytes += chunk.length;
    if (this.fatal === undefined) this.checkBytes(chunk);
    if (this.fatal !== undefined) {
      callback();
      return;
    }
    this.linesBefore += countNewlines(chunk);
    if (this.parser.write(chunk) || this.parser.destroyed) {
      callback();
      return;
    }
    // Backpressure; a syntax error destroys the parser instead of draining it.
    const resume = () => {
      this.parser.off('drain', resume);
      this.parser.off('close', resume);
      callback();
    };
    this.parser.on('drain', resume);
    this.parser.on('close', resume);
  }

  override _final(callback: (e?: Error) => void): void {
    if (this.fatal === undefined) {
      try {
        this.decoder.decode();
      } catch {
        this.setFatal(415, UploadCodes.csvEncoding, this.encodingMessage(), [
          {
            line: this.linesBefore + 1,
            column: null,
            value: null,
            problem: 'the file ends in the middle of a UTF-8 character',
          },
        ]);
      }
    }
    if (this.fatal !== undefined) {
      this.parser.destroy();
      callback();
      return;
    }
    this.parser.end();
    this.parserDone.then(() => callback(), callback);
  }

  /** The verdict; call after the stream finished. */
  result(): CsvCheckResult {
    const bytes = this.bytes;
    const reject = (
      status: 400 | 415 | 422,
      code: string,
      message: string,
      details?: CsvProblem[],
    ): CsvCheckResult => ({
      ok: false,
      bytes,
      error: new UploadError(status, code, message, details),
    });

    if (this.fatal !== undefined) {
      const details = [...this.problems, ...this.fatal.problems].slice(0, MAX_REPORTED_PROBLEMS);
      return reject(this.fatal.status, this.fatal.code, this.fatal.message, details);
    }
    if (!this.sawContent) {
      return reject(
        400,
        UploadCodes.fileEmpty,
        'The file is empty: upload a CSV with a header row and at least one product row',
      );
    }
    if (this.layout === undefined) {
      return reject(
        422,
        UploadCodes.csvHeader,
        `The CSV has no header row; the first row must be: ${EXPECTED_HEADER}`,
        [{ line: 1, column: null, value: null, problem: `missing header row: ${EXPECTED_HEADER}` }],
      );
    }
    if (this.problemCount > 0) {
      const n = this.problemCount;
      return reject(
        422,
        UploadCodes.csvInvalid,
        `The CSV has ${n} problem${n === 1 ? '' : 's'}${n > MAX_REPORTED_PROBLEMS ? `; the first ${MAX_REPORTED_PROBLEMS} are listed` : ''}. Fix ${n === 1 ? 'it' : 'them'} and upload the file again.`,
        this.problems,
      );
    }
    if (this.rows === 0) {
      return reject(422, UploadCodes.csvNoRows, 'The CSV has a header but no product rows', [
        {
          line: null,
          column: null,
          value: null,
          problem: 'add at least one product row under the header',
        },
      ]);
    }
    return { ok: true, products: this.products, images: this.images, bytes };
  }

  /** Recognisable non-CSV files get a message that says what they are. */
  private sniff(chunk: Buffer): void {
    if (
      chunk.length >= 2 &&
      ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))
    ) {
      this.setFatal(
        415,
        UploadCodes.csvEncoding,
        'The file is UTF-16 encoded; save it as "CSV UTF-8" and upload it again',
        [
          {
            line: 1,
            column: null,
            value: null,
            problem: 'UTF-16 byte order mark; only UTF-8 is accepted',
          },
        ],
      );
    } else if (chunk.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
      this.setFatal(
        415,
        UploadCodes.csvBinary,
        'The file is a ZIP archive (an Excel .xlsx workbook?), not CSV; export it as "CSV UTF-8"',
        [{ line: 1, column: null, value: null, problem: 'ZIP/XLSX file signature' }],
      );
    }
  }

  private checkBytes(chunk: Buffer): void {
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      this.setFatal(
        415,
        UploadCodes.csvBinary,
        'The file is binary, not CSV text; upload a CSV saved as UTF-8',
        [
          {
            line: this.linesBefore + countNewlines(chunk, nul) + 1,
            column: null,
            value: null,
            problem: 'NUL byte: binary data (or a UTF-16 file)',
          },
        ],
      );
      return;
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      const at = firstInvalidUtf8(chunk);
      const offset = at === -1 ? 0 : at;
      this.setFatal(415, UploadCodes.csvEncoding, this.encodingMessage(), [
        {
          line: this.linesBefore + countNewlines(chunk, offset) + 1,
          column: null,
          value: at === -1 ? null : `0x${chunk[at]!.toString(16).toUpperCase().padStart(2, '0')}`,
          problem: 'byte sequence that is not UTF-8 (a Latin-1/Windows-1252 export?)',
        },
      ]);
      return;
    }
    if (!this.sawContent && /[^\s\ufeff]/.test(text)) this.sawContent = true;
  }

  private encodingMessage(): string {
    return 'The file is not valid UTF-8 text; save it as "CSV UTF-8" and upload it again';
  }

  private onRecord(fields: string[], parserEndLine: number): void {
    // csv-parse's line count runs ahead by one per CRLF inside quoted fields: correct for it
    // so that reported lines are the ones an editor shows.
    const breaks = breaksIn(fields);
    this.lineDrift += breaks.parser - breaks.physical;
    const endLine = parserEndLine - this.lineDrift;
    const line = endLine - breaks.physical;
    this.lastRecordEnd = endLine;
    if (this.fatal !== undefined) return;
    // Blank lines are skipped; so are rows of empty cells (",,") that spreadsheets leave.
    if (fields.every((f) => f.trim() === '')) return;

    if (this.layout === undefined) {
      const header = matchHeader(fields, line);
      if (header.ok) this.layout = header.layout;
      else {
        this.setFatal(
          422,
          UploadCodes.csvHeader,
          header.looksLikeData
            ? `The CSV has no header row; add this first row: ${EXPECTED_HEADER}`
            : `The header row is not valid; it must be: ${EXPECTED_HEADER}`,
          header.problems,
        );
      }
      return;
    }

    this.rows += 1;
    if (this.rows > this.limits.maxRows) {
      this.setFatal(
        422,
        UploadCodes.csvTooManyRows,
        `The CSV has more than ${this.limits.maxRows} product rows; split it into several files`,
        [
          {
            line,
            column: null,
            value: null,
            problem: `row ${this.rows} is over the limit of ${this.limits.maxRows} product rows`,
          },
        ],
      );
      return;
    }

    const checked = checkRow(fields, line, this.layout, this.limits);
    if (!checked.ok) {
      this.addProblems(checked.problems);
      return;
    }
    const seenAt = this.serials.get(checked.serialKey);
    if (seenAt !== undefined) {
      this.addProblems([
        {
          line,
          column: this.layout.serial + 1,
          value: excerpt(checked.row.serialNumber),
          problem: `serial number ${checked.row.serialNumber} is already used on line ${seenAt}; serial numbers must be unique`,
        },
      ]);
      return;
    }
    this.serials.set(checked.serialKey, line);
    this.images += checked.row.urls.length;
    if (this.images > this.limits.maxImages) {
      this.setFatal(
        422,
        UploadCodes.csvTooManyImages,
        `The CSV has more than ${this.limits.maxImages} images; split it into several files`,
        [
          {
            line,
            column: this.layout.urls + 1,
            value: null,
            problem: `this row takes the file over the limit of ${this.limits.maxImages} images`,
          },
        ],
      );
      return;
    }
    // Once the file is known to be rejected its rows are not kept.
    if (this.problemCount === 0) {
      this.products.push({ productIndex: this.rows - 1, ...checked.row });
    }
  }

  private onSyntaxError(err: CsvError): void {
    if (this.fatal !== undefined) return;
    const { lines, index } = err as CsvError & { lines?: unknown; index?: unknown };
    const line =
      err.code === 'CSV_QUOTE_NOT_CLOSED' || typeof lines !== 'number'
        ? // csv-parse reports the end of the file; the open quote is in the record after the last good one.
          this.lastRecordEnd + 1
        : lines - this.lineDrift;
    const field = index;
    this.setFatal(
      422,
      UploadCodes.csvSyntax,
      `The file is not valid CSV at line ${line}: ${syntaxHint(err)}`,
      [
        {
          line,
          column:
            typeof field === 'number' && err.code !== 'CSV_QUOTE_NOT_CLOSED' ? field + 1 : null,
          value: null,
          problem: syntaxHint(err),
        },
      ],
    );
  }

  private addProblems(problems: readonly CsvProblem[]): void {
    for (const p of problems) {
      this.problemCount += 1;
      if (this.problems.length < MAX_REPORTED_PROBLEMS) this.problems.push(p);
    }
    this.products = [];
  }

  private setFatal(status: 415 | 422, code: string, message: string, problems: CsvProblem[]): void {
    this.fatal ??= { status, code, message, problems };
    this.products = [];
  }
}

/** Validates a whole CSV held in memory or given as chunks (tests, tools). */
export async function checkCsv(
  input: string | Buffer | Iterable<Buffer> | AsyncIterable<Buffer>,
  limits: UploadLimits,
): Promise<CsvCheckResult> {
  const checker = new CsvChecker(limits);
  const source =
    typeof input === 'string' || Buffer.isBuffer(input)
      ? Readable.from([Buffer.from(input)])
      : Readable.from(input);
  await pipeline(source, checker);
  return checker.result();
}
