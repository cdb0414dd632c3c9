import { ImgpipeError } from '@imgpipe/platform';

/**
 * One problem in an upload, as the client sees it in `error.details`. `line` is the 1-based
 * physical line of the file where the record starts, `column` the 1-based field position;
 * either is null when the problem is not about one cell (a missing column, too many rows...).
 */
export interface CsvProblem {
  line: number | null;
  column: number | null;
  value: string | null;
  problem: string;
}

/** A problem with a form field (`webhook_url`, `quality`...) or a request header. */
export interface FieldProblem {
  field: string;
  value: string | null;
  problem: string;
}

/**
 * Stable error codes of the upload API (the `error.code` clients branch on). The HTTP status
 * says who must act: 400 the request is malformed, 413 too big, 415 a kind of content ingest
 * does not read, 422 a readable CSV that breaks the rules, 409 idempotency conflicts, 503 a
 * dependency is down (retry later).
 */
export const UploadCodes = {
  notMultipart: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  multipart: 'ERR_MULTIPART',
  fileMissing: 'ERR_FILE_MISSING',
  tooManyFiles: 'ERR_TOO_MANY_FILES',
  fileEmpty: 'ERR_FILE_EMPTY',
  fileTooLarge: 'ERR_FILE_TOO_LARGE',
  fileType: 'ERR_FILE_TYPE',
  fieldInvalid: 'ERR_FIELD_INVALID',
  fieldUnknown: 'ERR_FIELD_UNKNOWN',
  csvBinary: 'ERR_CSV_BINARY',
  csvEncoding: 'ERR_CSV_ENCODING',
  csvSyntax: 'ERR_CSV_SYNTAX',
  csvHeader: 'ERR_CSV_HEADER',
  csvInvalid: 'ERR_CSV_INVALID',
  csvNoRows: 'ERR_CSV_NO_ROWS',
  csvTooManyRows: 'ERR_CSV_TOO_MANY_ROWS',
  csvTooManyImages: 'ERR_CSV_TOO_MANY_IMAGES',
  idempotencyKeyInvalid: 'ERR_IDEMPOTENCY_KEY_INVALID',
  idempotencyKeyReused: 'ERR_IDEMPOTENCY_KEY_REUSED',
  idempotencyInProgress: 'ERR_IDEMPOTENCY_IN_PROGRESS',
  storageUnavailable: 'ERR_STORAGE_UNAVAILABLE',
  idempotencyUnavailable: 'ERR_IDEMPOTENCY_UNAVAILABLE',
  queueUnavailable: 'ERR_QUEUE_UNAVAILABLE',
  requestClosed: 'ERR_REQUEST_CLOSED',
  requestStranded: 'ERR_REQUEST_STRANDED',
} as const;

/** The most problems one rejection lists (the message still gives the total). */
export const MAX_REPORTED_PROBLEMS = 100;

/** A rejected upload: a 4xx with a stable code and, where useful, the problems found. */
export class UploadError extends ImgpipeError {
  constructor(
    httpStatus: 400 | 409 | 413 | 415 | 422,
    code: string,
    message: string,
    details?: readonly CsvProblem[] | readonly FieldProblem[],
    /** Sent as Retry-After (409 while the first attempt with an Idempotency-Key is running). */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, { httpStatus, details });
    this.name = 'UploadError';
  }
}

/**
 * A dependency (S3, Kafka, Cassandra) failed: 503 with Retry-After. `details` may carry the
 * request id when a request was created and then closed as failed, so the client can look it up.
 */
export class UnavailableError extends ImgpipeError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    options: { cause?: unknown; details?: unknown } = {},
  ) {
    super(code, message, { httpStatus: 503, retriable: true, ...options });
    this.name = 'UnavailableError';
  }
}

/** Shortens a cell for an error report: enough to recognise it, never a 2 KiB URL echoed 100 times. */
export const excerpt = (value: string, max = 120): string =>
  value.length <= max ? value : `${value.slice(0, max - 1)}…`;
