/**
 * Deterministic ids. A replayed or redelivered message must produce the same image id and the
 * same completion id, so consumers can be idempotent on them (the notifier deduplicates
 * webhooks on the completion id, which is also the `webhook-id`). Name-based UUIDs (RFC 9562
 * section 5.5, version 5: SHA-1 over a namespace UUID followed by the name) give that without
 * any coordination.
 */
import { createHash } from 'node:crypto';
import { SchemaError } from './errors';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its canonical 8-4-4-4-12 hex form (any version, either case). */
export const isUuid = (value: unknown): value is string =>
  typeof value === 'string' && UUID_PATTERN.test(value);

/** RFC 9562 namespace for names that are URLs (Appendix A.2, the "URL" namespace ID). */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/**
 * imgpipe's own namespace: `uuidV5('https://imgpipe.dev/ids', URL_NAMESPACE)`, written out
 * so that no change to this file's code can silently change every id ever issued (a test
 * checks the derivation).
 */
export const IMGPIPE_ID_NAMESPACE = 'c0c1b1b8-957e-590a-9e9b-76b5574a4580';

/** A version 5 (SHA-1, name-based) UUID of `name` (UTF-8) in `namespace`. */
export function uuidV5(name: string, namespace: string): string {
  if (!isUuid(namespace)) {
    throw new SchemaError(
      'ERR_ID_INVALID_INPUT',
      `namespace must be a UUID, got ${JSON.stringify(namespace)}`,
    );
  }
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const requireRequestId = (fn: string, requestId: string): string => {
  if (!isUuid(requestId)) {
    throw new SchemaError(
      'ERR_ID_INVALID_INPUT',
      `${fn}: requestId must be a UUID, got ${JSON.stringify(requestId)}`,
    );
  }
  // Case must not change the id: the same request spelled in upper case is the same request.
  return requestId.toLowerCase();
};

const requireIndex = (fn: string, field: string, value: number): number => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SchemaError(
      'ERR_ID_INVALID_INPUT',
      `${fn}: ${field} must be a non-negative integer, got ${String(value)}`,
    );
  }
  return value;
};

/**
 * Id of one image of a request: product row and position in the row, both 0-based as in the
 * events. Same inputs, same id — across processes, replays and releases.
 */
export function imageIdFor(requestId: string, productIndex: number, imageIndex: number): string {
  const id = requireRequestId('imageIdFor', requestId);
  const p = requireIndex('imageIdFor', 'productIndex', productIndex);
  const i = requireIndex('imageIdFor', 'imageIndex', imageIndex);
  return uuidV5(`image/${id}/${p}/${i}`, IMGPIPE_ID_NAMESPACE);
}

/** Id of a request's one completion (RequestCompleted.completionId, the webhook's `webhook-id`). */
export function completionIdFor(requestId: string): string {
  return uuidV5(
    `completion/${requireRequestId('completionIdFor', requestId)}`,
    IMGPIPE_ID_NAMESPACE,
  );
}
