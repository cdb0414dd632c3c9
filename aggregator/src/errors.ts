/**
 * The aggregator's error catalogue (HTTP side). Rendered by platform's errorHandler as
 * `{ "error": { "code", "message", "details"? } }`.
 */
import { ImgpipeError } from '@imgpipe/platform';

export const invalidRequestId = (value: string): ImgpipeError =>
  new ImgpipeError(
    'ERR_INVALID_REQUEST_ID',
    `Request id must be a UUID like 0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70, got ${JSON.stringify(value)}`,
    { httpStatus: 400, details: { field: 'request_id', value } },
  );

export const invalidQuery = (field: string, value: string, expected: string): ImgpipeError =>
  new ImgpipeError(
    'ERR_INVALID_QUERY',
    `Query parameter ${field} must be ${expected}, got ${JSON.stringify(value)}`,
    { httpStatus: 400, details: { field, value } },
  );

export const invalidImagePosition = (field: string, value: string): ImgpipeError =>
  new ImgpipeError(
    'ERR_INVALID_IMAGE_POSITION',
    `${field} must be a 1-based position (1, 2, …), got ${JSON.stringify(value)}`,
    { httpStatus: 400, details: { field, value } },
  );

export const requestNotFound = (requestId: string): ImgpipeError =>
  new ImgpipeError('ERR_REQUEST_NOT_FOUND', `No request ${requestId}`, {
    httpStatus: 404,
    details: { request_id: requestId },
  });

export const imageNotFound = (message: string, details: Record<string, unknown>): ImgpipeError =>
  new ImgpipeError('ERR_IMAGE_NOT_FOUND', message, { httpStatus: 404, details });

export const requestNotDone = (requestId: string, status: unknown): ImgpipeError =>
  new ImgpipeError(
    'ERR_REQUEST_NOT_DONE',
    `Request ${requestId} is not done yet; the output CSV is written when every image is final`,
    { httpStatus: 409, details: status },
  );

/** A dependency (Cassandra, S3) is unavailable: 503, the client should retry shortly. */
export const unavailable = (what: string, cause: unknown): ImgpipeError =>
  new ImgpipeError('ERR_UNAVAILABLE', `${what} is unavailable right now; retry shortly`, {
    httpStatus: 503,
    retriable: true,
    cause,
  });
