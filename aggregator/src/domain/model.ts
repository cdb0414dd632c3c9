/**
 * The aggregator's read model as the domain sees it. Field names follow the events
 * (camelCase, epoch-ms timestamps, bytes); the Cassandra adapter maps them to the columns of
 * schemas/cql (0001_init.cql, 0003_aggregator.cql).
 */
import type { CompressionOptions, FailureCode, ImageFormat, RequestStatus } from '@imgpipe/schemas';

/** What RequestAccepted told us about a request: everything except progress. */
export interface RequestMeta {
  requestId: string;
  products: number;
  /** Number of images; the request completes when this many are final. */
  total: number;
  options: CompressionOptions;
  inputCsvKey: string;
  webhookUrl: string | null;
  webhookSecret: string | null;
  email: string | null;
  /** RequestAccepted.occurredAt. */
  createdAt: number;
}

export type FinalImageStatus = 'COMPRESSED' | 'FAILED';

/** The little the completion decision needs per final image (kept in memory per request). */
export interface FinalMark {
  status: FinalImageStatus;
  bytesIn: number;
  bytesOut: number;
}

/** One row of images_by_request: where the image sits, what was asked and what came of it. */
export interface ImageRecord {
  requestId: string;
  productIndex: number;
  imageIndex: number;
  serialNumber: string;
  productName: string;
  inputUrl: string;
  status: FinalImageStatus;
  outputKey: string | null;
  /** imgpipe's download URL (or the public base URL's) for a compressed image. */
  outputUrl: string | null;
  failureCode: FailureCode | null;
  failureMessage: string | null;
  httpStatus: number | null;
  bytesIn: number | null;
  bytesOut: number | null;
  width: number | null;
  height: number | null;
  format: ImageFormat | null;
  keptOriginal: boolean | null;
  attempts: number;
  /** The result event's occurredAt. */
  updatedAt: number;
}

export type TerminalStatus = Extract<
  RequestStatus,
  'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED'
>;

export interface Counts {
  total: number;
  compressed: number;
  failed: number;
  /** total − compressed − failed (never negative). */
  pending: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The exactly-once completion latch (request_completions). Self-contained, so a recovery can
 * re-publish RequestCompleted from it alone (plus the webhook target from the request row).
 */
export interface CompletionRecord {
  requestId: string;
  completionId: string;
  status: TerminalStatus;
  outputCsvKey: string;
  published: boolean;
  completedAt: number;
  createdAt: number | null;
  total: number;
  compressed: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  /** Why a request was closed without all of its images (timeouts); null otherwise. */
  failureReason: string | null;
}

/**
 * A request that has seen events but no completion yet (aggregator_open_requests). The
 * sweeper reads these to close orphans and stalled requests and to finish interrupted
 * completions.
 */
export interface OpenRequest {
  requestId: string;
  /** RequestAccepted seen. */
  accepted: boolean;
  /** First event seen for the request (epoch ms). */
  openedAt: number;
  /** Last time an image became final, or the request was accepted (epoch ms, coarse). */
  lastProgressAt: number;
}

/** The progress columns of the request row, all absolute values. */
export interface ProgressUpdate {
  requestId: string;
  status: RequestStatus;
  counts: Counts;
  updatedAt: number;
}

/** The request row's terminal write; carries the totals so an orphan gets a complete row. */
export interface TerminalUpdate {
  requestId: string;
  completion: CompletionRecord;
  products: number;
  updatedAt: number;
}
