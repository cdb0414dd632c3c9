/**
 * The port between the commands and imgpipe's public HTTP API. Only the shapes the CLI reads
 * are typed here; they mirror ingest's 202 body (ingest/README.md) and the aggregator's status
 * body (aggregator/src/http/routes.ts). The CLI does not import those packages on purpose: it
 * talks HTTP only, so it works against any imgpipe base URL (and any version that keeps the
 * documented shapes).
 */

/** The 202 body of POST /upload. */
export interface Accepted {
  request_id: string;
  status: string;
  status_url: string;
  products: number;
  images: number;
  message?: string;
  /** Only when a webhook URL was given: the Standard Webhooks signing secret. */
  webhook_secret?: string;
}

export interface Progress {
  total: number;
  compressed: number;
  failed: number;
  pending: number;
  percent: number;
}

export interface ImageStatus {
  position: number;
  input_url: string;
  output_url: string | null;
  status: string;
  failure_code: string | null;
  failure_message: string | null;
  bytes_in: number | null;
  bytes_out: number | null;
  width: number | null;
  height: number | null;
  format: string | null;
}

export interface ProductStatus {
  position: number;
  serial_number: string;
  product_name: string;
  images: ImageStatus[];
}

/** The body of GET /status/{id} (with `products` and `images_page` under ?include=images). */
export interface StatusBody {
  request_id: string;
  status: string;
  progress: Progress;
  created_at: string | null;
  updated_at: string | null;
  completed_at: string | null;
  /** The upload's compression options (absent for a moment right after the upload). */
  options?: { quality: number; format: string; max_dimension: number | null };
  output_csv_url?: string;
  failure_reason?: string;
  webhook?: { state: string; attempts: number; last_status_code: number | null };
  bytes_in: number;
  bytes_out: number;
  products?: ProductStatus[];
  images_page?: { limit: number; next_cursor: string | null };
}

/** Statuses after which nothing changes any more (aggregator: "done"). */
export const FINAL_STATUSES: readonly string[] = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];
export const isFinal = (status: string): boolean => FINAL_STATUSES.includes(status);

/**
 * Why a call did not produce what was asked. Expected outcomes, returned rather than thrown
 * (../shared/STYLE.md, "Errors"), so every command maps each one to a message and an exit code.
 */
export type ApiFailure =
  /**
   * imgpipe (or something at the URL) answered with a non-2xx status. `code`, `message` and
   * `details` come from the `{ "error": { … } }` body; `imgpipeShape` is false when the body
   * was not that shape (a proxy's error page, a server that is not imgpipe), in which case
   * code is `HTTP_<status>` and message an excerpt of the body.
   */
  | {
      kind: 'http';
      url: string;
      status: number;
      code: string;
      message: string;
      details?: unknown;
      retryAfterSeconds?: number;
      imgpipeShape: boolean;
    }
  /** No HTTP answer at all: refused, unknown host, TLS, reset, or no bytes within the timeout. */
  | { kind: 'network'; url: string; reason: string }
  /** A 2xx whose body is not what the API documents (wrong URL, or a proxy in the way). */
  | { kind: 'protocol'; url: string; status: number; reason: string }
  /** The caller's AbortSignal fired (Ctrl-C). */
  | { kind: 'aborted'; url: string };

export type ApiResult<T> = { ok: true; value: T } | { ok: false; failure: ApiFailure };

/** The CSV to upload, by path: the adapter streams it from disk, never holding it in memory. */
export interface CsvFile {
  path: string;
  /** File name sent in the multipart part (the server logs it; it is not trusted). */
  name: string;
  size: number;
}

/** POST /upload form fields, named as the API names them; only the given ones are sent. */
export interface UploadFields {
  webhook_url?: string;
  email?: string;
  quality?: string;
  format?: string;
  max_dimension?: string;
}

export interface UploadInput {
  csv: CsvFile;
  fields: UploadFields;
  idempotencyKey?: string;
}

export interface Uploaded {
  body: Accepted;
  /** `Idempotent-Replayed: true`: the key was seen before and this is the first answer again. */
  replayed: boolean;
}

export interface ImagesPageQuery {
  limit: number;
  cursor?: string;
}

/**
 * imgpipe's public API as the CLI uses it. Every method resolves (never rejects) with either
 * the value or an {@link ApiFailure}; `signal` aborts the call (Ctrl-C).
 */
export interface ImgpipeApi {
  /** The base URL every path is resolved against, as the user gave it (for messages). */
  readonly baseUrl: string;
  upload(input: UploadInput, signal?: AbortSignal): Promise<ApiResult<Uploaded>>;
  /** GET /status/{id}; with `images`, one page of `?include=images`. */
  status(
    requestId: string,
    images?: ImagesPageQuery,
    signal?: AbortSignal,
  ): Promise<ApiResult<StatusBody>>;
  /** GET /requests/{id}/output.csv as a byte stream (never buffered whole). */
  outputCsv(requestId: string, signal?: AbortSignal): Promise<ApiResult<AsyncIterable<Uint8Array>>>;
}
