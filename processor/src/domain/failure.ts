import type { FailureCode } from '@imgpipe/schemas';

/**
 * An expected per-image failure, as data (expected failures are returned, not thrown).
 * `transient` decides the path (../shared/ARCHITECTURE.md, "Failure classes"): transient ones
 * are retried in-process once and then through the delay topics; permanent ones are final.
 */
export interface ImageFailure {
  readonly code: FailureCode;
  /** For people: what happened, naming the status/host/limit involved (never secrets). */
  readonly message: string;
  readonly transient: boolean;
  /** HTTP status of the image download, when there was a response. */
  readonly httpStatus?: number;
  /** Origin's Retry-After, when it sent one (429/503). */
  readonly retryAfterMs?: number;
}

export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: ImageFailure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const failed = <T = never>(
  code: FailureCode,
  message: string,
  extra: { transient?: boolean; httpStatus?: number; retryAfterMs?: number } = {},
): Result<T> => ({
  ok: false,
  failure: {
    code,
    message,
    transient: extra.transient ?? false,
    ...(extra.httpStatus === undefined ? {} : { httpStatus: extra.httpStatus }),
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  },
});
