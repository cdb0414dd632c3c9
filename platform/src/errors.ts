/**
 * Base of every package's error catalogue. Classify by `code` and `retriable`, never by
 * `instanceof`, across package boundaries (../shared/STYLE.md, "Errors").
 */
export interface ErrorOptions {
  retriable?: boolean;
  httpStatus?: number;
  details?: unknown;
  cause?: unknown;
}

export class ImgpipeError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly httpStatus: number | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImgpipeError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.httpStatus = options.httpStatus;
    this.details = options.details;
  }
}

/** Reads a stable code off anything thrown (ours or a library's). */
export const errorCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;

export const isRetriable = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && 'retriable' in err && err.retriable === true;
