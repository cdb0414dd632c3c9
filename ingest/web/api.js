/**
 * The HTTP API the page uses: POST upload, GET status/{id}. Paths are relative to the page, so
 * the page works wherever ingest's edge is mounted (behind a proxy under /imgpipe/ too).
 */

/** An error answer in the API's shape `{ error: { code, message, details? } }`, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, details, retryAfterSeconds) {
    super(message);
    this.name = 'ApiError';
    /** HTTP status; 0 when no answer arrived (network failure). */
    this.status = status;
    this.code = code;
    this.details = details;
    /** From Retry-After (503, 409 in progress); undefined when the server sent none. */
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const url = (path) => new URL(path, document.baseURI);

/** Retry-After as seconds: delta-seconds or an HTTP date. */
function retryAfter(headers) {
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

async function send(path, init) {
  let res;
  try {
    res = await fetch(url(path), {
      ...init,
      headers: { Accept: 'application/json', ...init.headers },
    });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new ApiError(0, 'ERR_NETWORK', `imgpipe could not be reached (${err.message})`);
  }
  const text = await res.text();
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok) {
    if (body === undefined) {
      throw new ApiError(
        res.status,
        'ERR_BAD_RESPONSE',
        `Unexpected answer from ${path}: not JSON`,
      );
    }
    return { status: res.status, headers: res.headers, body };
  }
  const error = body?.error;
  // A proxy in front of ingest may answer with HTML; keep its status and say so.
  throw new ApiError(
    res.status,
    typeof error?.code === 'string' ? error.code : `ERR_HTTP_${res.status}`,
    typeof error?.message === 'string'
      ? error.message
      : `HTTP ${res.status} ${res.statusText}`.trim(),
    error?.details,
    retryAfter(res.headers),
  );
}

/** POST upload (multipart). Resolves with the 202 body and whether it was an idempotent replay. */
export async function uploadCsv(form, idempotencyKey) {
  const { body, headers } = await send('upload', {
    method: 'POST',
    body: form,
    headers: { 'Idempotency-Key': idempotencyKey },
  });
  return { accepted: body, replayed: headers.get('idempotent-replayed') === 'true' };
}

/** GET status/{id}, optionally one page of images (`include=images`). */
export async function getStatus(requestId, { signal, images, limit, cursor } = {}) {
  const query = new URLSearchParams();
  if (images) {
    query.set('include', 'images');
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor) query.set('cursor', cursor);
  }
  const qs = query.toString() === '' ? '' : `?${query}`;
  const { body } = await send(`status/${encodeURIComponent(requestId)}${qs}`, { signal });
  return body;
}

/**
 * A fresh Idempotency-Key. crypto.randomUUID exists only in secure contexts (https, localhost);
 * ingest is often reached over plain http on a LAN, where getRandomValues still works.
 */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
