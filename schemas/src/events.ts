/**
 * TypeScript shapes of every event. The `.avsc` files under schemas/avro are the contract;
 * these types are kept in step with them by a test that every fixture validates against both.
 * Conventions: ids are UUID strings; timestamps are epoch milliseconds (`timestamp-millis`);
 * sizes are bytes; optional Avro fields (unions with null) are `| null`, never `undefined`.
 */

/** Closed list shared by events, the status API and metrics labels. */
export const FAILURE_CODES = [
  'HTTP_NOT_FOUND',
  'HTTP_CLIENT_ERROR',
  'HTTP_SERVER_ERROR',
  'TIMEOUT',
  'DNS_FAILURE',
  'CONNECTION_FAILED',
  'BLOCKED_ADDRESS',
  'TOO_MANY_REDIRECTS',
  'TOO_LARGE',
  'TOO_MANY_PIXELS',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'RETRIES_EXHAUSTED',
  'INTERNAL',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const REQUEST_STATUSES = [
  'PENDING',
  'PROCESSING',
  'COMPLETED',
  'COMPLETED_WITH_ERRORS',
  'FAILED',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const OUTPUT_FORMATS = ['keep', 'jpeg', 'webp', 'avif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Formats the processor accepts (by file signature) and may write. */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface CompressionOptions {
  /** 1–100; default 50 ("compress to 50 % of the original quality"). */
  quality: number;
  format: OutputFormat;
  /** Fit inside this many pixels on the longer side, never enlarging; null = keep size. */
  maxDimension: number | null;
}

interface EventBase {
  /** Unique per event (UUID). */
  eventId: string;
  /** When the event happened, epoch ms. */
  occurredAt: number;
  requestId: string;
}

/** Published by ingest (acknowledged) before any of the request's ImageRequested. */
export interface RequestAccepted extends EventBase {
  products: number;
  images: number;
  options: CompressionOptions;
  inputCsvKey: string;
  webhookUrl: string | null;
  /** `whsec_…`; internal topics only (the notifier signs with it). */
  webhookSecret: string | null;
  email: string | null;
}

/** Where one image sits in the request: product row (0-based, input order) and position in the row. */
export interface ImageRef {
  /** Deterministic UUID of (requestId, productIndex, imageIndex). */
  imageId: string;
  productIndex: number;
  imageIndex: number;
  /** Serial number exactly as given in the CSV. */
  serialNumber: string;
  productName: string;
  /** Input URL exactly as given. */
  inputUrl: string;
}

/** One per image, keyed by imageId on images.requested. */
export interface ImageRequested extends EventBase, ImageRef {
  options: CompressionOptions;
}

export interface ImageCompressed extends EventBase, ImageRef {
  /** Bytes downloaded. */
  bytesIn: number;
  /** Bytes stored (equal to bytesIn when the original was kept). */
  bytesOut: number;
  width: number;
  height: number;
  format: ImageFormat;
  /** True when compression did not make the file smaller and the original bytes were stored. */
  keptOriginal: boolean;
  outputKey: string;
  outputUrl: string;
  attempts: number;
  downloadMs: number;
  compressMs: number;
  uploadMs: number;
}

export interface ImageFailed extends EventBase, ImageRef {
  failureCode: FailureCode;
  message: string;
  /** HTTP status of the image download, when there was one. */
  httpStatus: number | null;
  attempts: number;
}

/** Exactly one per completion id, keyed by requestId on requests.completed. */
export interface RequestCompleted extends EventBase {
  /** Deterministic; the notifier deduplicates on it and sends it as `webhook-id`. */
  completionId: string;
  status: RequestStatus;
  total: number;
  compressed: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  outputCsvKey: string;
  outputCsvUrl: string;
  completedAt: number;
  createdAt: number;
  webhookUrl: string | null;
  webhookSecret: string | null;
  email: string | null;
}

/**
 * A message waiting on a delay topic, or a dead letter: the original bytes and where they came
 * from, so a retry re-runs exactly what was consumed and a dead letter can be replayed.
 */
export interface Envelope {
  originalTopic: string;
  originalPartition: number;
  originalOffset: string;
  key: string | null;
  /** The original message value, undecoded (a poison message stays as it was). */
  payload: Buffer;
  headers: Record<string, string>;
  /** Attempts made so far (1 after the first handling). */
  attempt: number;
  firstAttemptAt: number;
  /** Not to be redelivered before this time (epoch ms). */
  dueAt: number;
  reason: string;
  failureCode: FailureCode | null;
}

export interface EventMap {
  RequestAccepted: RequestAccepted;
  ImageRequested: ImageRequested;
  ImageCompressed: ImageCompressed;
  ImageFailed: ImageFailed;
  RequestCompleted: RequestCompleted;
  Envelope: Envelope;
}
export type EventName = keyof EventMap;
/** Every event name, for code that iterates over the contracts (the codec, tests, tooling). */
export const EVENT_NAMES = [
  'RequestAccepted',
  'ImageRequested',
  'ImageCompressed',
  'ImageFailed',
  'RequestCompleted',
  'Envelope',
] as const satisfies readonly EventName[];
/** A decoded message: discriminated by `name`. */
export type AnyEvent = { [K in EventName]: { name: K; value: EventMap[K] } }[EventName];
