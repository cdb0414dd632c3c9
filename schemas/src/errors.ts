/**
 * Errors of the contracts package. schemas cannot import @imgpipe/platform (platform depends
 * on schemas), so these repeat the shape of platform's ImgpipeError — a stable `code` and
 * `retriable` — and callers classify them by `code`, never by `instanceof`
 * (../shared/STYLE.md, "Errors").
 */
export interface SchemaErrorOptions {
  details?: unknown;
  cause?: unknown;
}

export class SchemaError extends Error {
  readonly code: string;
  /** Always false: the same bytes or the same value fail the same way on every attempt. */
  readonly retriable = false;
  readonly details: unknown;

  constructor(code: string, message: string, options: SchemaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SchemaError';
    this.code = code;
    this.details = options.details;
  }
}

export const DECODE_ERROR_CODES = [
  /** The message has no `imgpipe-schema` header: nothing says how to read it. */
  'ERR_DECODE_MISSING_SCHEMA',
  /** The header names a schema (name + fingerprint) this reader does not know. */
  'ERR_DECODE_UNKNOWN_SCHEMA',
  /** The bytes do not decode with the named schema (garbage, truncated, trailing data, null). */
  'ERR_DECODE_BYTES',
] as const;
export type DecodeErrorCode = (typeof DECODE_ERROR_CODES)[number];

/** A message that can never be decoded: the bus dead-letters it (a poison message). */
export class DecodeError extends SchemaError {
  declare readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message: string, options: SchemaErrorOptions = {}) {
    super(code, message, options);
    this.name = 'DecodeError';
  }
}

export const ENCODE_ERROR_CODES = [
  /** The value does not match the event's schema; the message names the field path. */
  'ERR_ENCODE_INVALID',
  /** No schema is known under that event name. */
  'ERR_ENCODE_UNKNOWN_EVENT',
] as const;
export type EncodeErrorCode = (typeof ENCODE_ERROR_CODES)[number];

/** A value that does not fit its schema: a bug in the producer, not a transient fault. */
export class EncodeError extends SchemaError {
  declare readonly code: EncodeErrorCode;

  constructor(code: EncodeErrorCode, message: string, options: SchemaErrorOptions = {}) {
    super(code, message, options);
    this.name = 'EncodeError';
  }
}
