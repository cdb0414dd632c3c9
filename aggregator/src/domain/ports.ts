/**
 * What the aggregator's domain needs from the outside world. Adapters: Cassandra
 * (adapters/cassandra-store.ts), S3 (adapters/s3-objects.ts), the Kafka bus
 * (adapters/completion-publisher.ts). Unit tests use the in-memory fakes in ../testing.
 */
import type { CompressionOptions, RequestCompleted } from '@imgpipe/schemas';
import type {
  CompletionRecord,
  FinalMark,
  ImageRecord,
  OpenRequest,
  ProgressUpdate,
  RequestMeta,
  TerminalUpdate,
} from './model';

/** Everything known about one request, as loaded when its partition comes to this instance. */
export interface RequestSnapshot {
  meta: RequestMeta | null;
  /** Final images by `imageKey(productIndex, imageIndex)`. */
  finals: Map<string, FinalMark>;
  completion: CompletionRecord | null;
  open: OpenRequest | null;
  /** The progress columns as stored on the request row (null when the row has none). */
  stored: { status: string | null; compressed: number; failed: number } | null;
}

/**
 * The write side of the read model. Every write is an idempotent upsert of absolute values
 * (a redelivered event writes the same thing again) except `recordCompletion`, the one
 * lightweight transaction per request.
 */
export interface RequestStore {
  loadSnapshot(requestId: string): Promise<RequestSnapshot>;
  /** Request row: RequestAccepted's fields and the progress derived so far. */
  saveAccepted(meta: RequestMeta, progress: ProgressUpdate): Promise<void>;
  saveImage(image: ImageRecord): Promise<void>;
  saveProgress(progress: ProgressUpdate): Promise<void>;
  /** All image rows of a request, in (product, image) order: the source of truth for counts. */
  listImages(requestId: string): Promise<ImageRecord[]>;
  /**
   * `INSERT … IF NOT EXISTS`. `applied` false means a record already existed (written by
   * another instance, a sweeper, or this instance's own earlier attempt); `record` is then
   * the stored one, which wins.
   */
  recordCompletion(
    record: CompletionRecord,
  ): Promise<{ applied: boolean; record: CompletionRecord }>;
  getCompletion(requestId: string): Promise<CompletionRecord | null>;
  markPublished(requestId: string): Promise<void>;
  saveTerminal(update: TerminalUpdate): Promise<void>;
  getMeta(requestId: string): Promise<RequestMeta | null>;
  saveOpen(open: OpenRequest): Promise<void>;
  removeOpen(requestId: string): Promise<void>;
  listOpen(): Promise<OpenRequest[]>;
}

/** Where the output CSV goes (S3 `results/{requestId}.csv`). Overwriting is idempotent. */
export interface OutputStore {
  putOutputCsv(key: string, body: Buffer): Promise<void>;
}

/** Publishes RequestCompleted (resolves when the broker acknowledged it). */
export interface CompletionPublisher {
  publish(event: RequestCompleted): Promise<void>;
}

export interface Clock {
  now(): number;
}

/** The slice of a pino logger the domain uses (the domain imports no pino). */
export interface DomainLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type EventOutcome = 'applied' | 'duplicate' | 'orphan' | 'late' | 'ignored';

/** Counters the domain reports (adapters/metrics.ts maps them onto Prometheus metrics). */
export interface DomainMetrics {
  event(type: string, outcome: EventOutcome): void;
  stateLoaded(reason: 'miss' | 'partition-moved' | 'fresh'): void;
  completionRecorded(applied: boolean): void;
  requestCompleted(status: string, e2eSeconds: number | null): void;
  completionPublished(recovered: boolean): void;
  openRequests(count: number): void;
}

export const noopMetrics: DomainMetrics = {
  event: () => undefined,
  stateLoaded: () => undefined,
  completionRecorded: () => undefined,
  requestCompleted: () => undefined,
  completionPublished: () => undefined,
  openRequests: () => undefined,
};

/** A request row as the query API shows it (request row and completion latch combined). */
export interface RequestView {
  requestId: string;
  status: string;
  products: number;
  total: number;
  compressed: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  hasWebhook: boolean;
  /** What the upload asked for; null only for a request closed without its RequestAccepted. */
  options: CompressionOptions | null;
  failureReason: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  completedAt: number | null;
  outputCsvKey: string | null;
  /** True once the completion latch exists: the output CSV can be downloaded. */
  done: boolean;
}

export interface WebhookAttempt {
  attempt: number;
  state: string | null;
  statusCode: number | null;
  attemptedAt: number | null;
}

export interface ImagePosition {
  productIndex: number;
  imageIndex: number;
}

/** The query side, used by the HTTP API. Reads only; any aggregator instance can serve it. */
export interface ReadModel {
  getRequest(requestId: string): Promise<RequestView | null>;
  /** webhook_deliveries rows of target 'request', by attempt. */
  listWebhookAttempts(requestId: string): Promise<WebhookAttempt[]>;
  /** Image rows after `after` (exclusive) in (product, image) order, at most `limit`. */
  listImagesPage(
    requestId: string,
    after: ImagePosition | null,
    limit: number,
  ): Promise<ImageRecord[]>;
  getImage(requestId: string, position: ImagePosition): Promise<ImageRecord | null>;
}
