/**
 * What the upload use case needs from the outside world. Adapters (adapters/) implement these
 * over Kafka, S3 and Cassandra; unit tests use in-memory fakes.
 */
import type { Readable } from 'node:stream';
import type { OutgoingEvent } from '@imgpipe/platform';
import type { InputSummary, TopicSpec } from '@imgpipe/schemas';

/** Publishes events to Kafka through the platform bus. */
export interface EventPublisher {
  /**
   * Sends the events to `topic` in order per key; resolves only once the broker acknowledged
   * every one (acks=-1). A rejection means some may have been written and some not.
   */
  publish(topic: TopicSpec, events: readonly OutgoingEvent[]): Promise<void>;
}

/** The uploaded CSV, spooled while it was validated, readable again as often as needed. */
export interface UploadedFile {
  readonly size: number;
  /** Hex SHA-256 of the bytes (the Idempotency-Key fingerprint). */
  readonly sha256: string;
  open(): Readable;
}

/** Durable storage of the original CSVs (S3 `inputs/{requestId}.csv`). */
/** The summary stored as the input CSV's metadata (the contract is in @imgpipe/schemas). */
export type { InputSummary };

export interface InputStore {
  /** Stores the file under `key` with its summary; resolves once it is durable. Overwriting is harmless. */
  save(key: string, file: UploadedFile, summary: InputSummary): Promise<void>;
  /** Deletes `key` (no error when it does not exist). */
  remove(key: string): Promise<void>;
}

/** The 202 body, as first answered (an Idempotency-Key replay answers the same). */
export interface AcceptedBody {
  request_id: string;
  status: 'PENDING';
  status_url: string;
  products: number;
  images: number;
  message: string;
  webhook_secret?: string;
}

export interface IdempotencyRecord {
  key: string;
  /** SHA-256 of the file and the options: what "the same request" means. */
  fingerprint: string;
  /** SHA-256 of the file alone (to tell "different file" from "different options"). */
  fileSha256: string;
  requestId: string;
  /** IN_PROGRESS while the first attempt runs; ACCEPTED once it answered 202. */
  state: 'IN_PROGRESS' | 'ACCEPTED';
  response: AcceptedBody | null;
}

export type ClaimResult = { claimed: true } | { claimed: false; existing: IdempotencyRecord };

/** Durable Idempotency-Key records (Cassandra, lightweight transactions). */
export interface IdempotencyStore {
  /**
   * Atomically records `key` for this attempt unless it is already recorded; the claim lapses
   * by itself after a while (a crashed attempt must not block the key for ever).
   */
  claim(record: Omit<IdempotencyRecord, 'state' | 'response'>): Promise<ClaimResult>;
  /** Marks the claim ACCEPTED with the response to replay (kept for the retention period). */
  complete(record: Omit<IdempotencyRecord, 'state'> & { response: AcceptedBody }): Promise<void>;
  /** Drops this attempt's claim (only if it is still ours), so the client can retry with the key. */
  release(key: string, requestId: string): Promise<void>;
}
