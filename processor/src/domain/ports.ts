/**
 * What the processor's domain needs from the outside world. Adapters implement these with
 * undici (download), sharp (compression), S3 (storage), the Kafka bus (results) and
 * prom-client (metrics); unit tests implement them with in-memory fakes.
 */
import type {
  CompressionOptions,
  ImageCompressed,
  ImageFailed,
  ImageFormat,
} from '@imgpipe/schemas';
import type { Result } from './failure';

/** A downloaded body (already capped, the address already vetted). */
export interface FetchedImage {
  readonly bytes: Buffer;
  /** Status of the final (non-redirect) response. */
  readonly httpStatus: number;
  /** URL after redirects. */
  readonly finalUrl: string;
}

/**
 * Downloads one user-supplied URL safely: http/https only, every hop's address vetted against
 * the private-address guard, bounded redirects, time and size. Expected failures (4xx, 5xx,
 * timeouts, blocked addresses, too large…) are returned with their code; it never throws for
 * them. It rejects only when `signal` aborts.
 */
export interface ImageFetcher {
  fetch(url: string, signal: AbortSignal): Promise<Result<FetchedImage>>;
}

export interface CompressRequest {
  readonly bytes: Buffer;
  /** Format decided from the file signature. */
  readonly format: ImageFormat;
  readonly options: CompressionOptions;
}

export interface EncodedImage {
  readonly bytes: Buffer;
  readonly format: ImageFormat;
  /** Pixel size as displayed (after auto-orientation and resizing). */
  readonly width: number;
  readonly height: number;
}

export interface Compressed {
  readonly output: EncodedImage;
  /** The input's displayed size (auto-oriented), reported when the original bytes are kept. */
  readonly input: { readonly width: number; readonly height: number };
}

/**
 * Re-encodes one image per the request's options. Expected failures (too many pixels,
 * corrupt data, unsupported content, time limit) are returned with their code.
 */
export interface ImageCompressor {
  compress(request: CompressRequest): Promise<Result<Compressed>>;
}

/** Where output images go. `put` overwrites (deterministic keys make replays idempotent). */
export interface ObjectStore {
  /** Rejects on faults (unreachable store, timeouts): the caller treats them as transient. */
  put(key: string, bytes: Buffer, contentType: string, signal: AbortSignal): Promise<void>;
}

export type ImageResult =
  | { readonly name: 'ImageCompressed'; readonly value: ImageCompressed }
  | { readonly name: 'ImageFailed'; readonly value: ImageFailed };

/** Publishes final per-image results; resolves once durable (acks=-1). Rejects on faults. */
export interface ResultPublisher {
  publish(result: ImageResult): Promise<void>;
}

export type Stage = 'download' | 'compress' | 'upload';
export type Outcome = 'compressed' | 'failed' | 'retried';

/** Metrics and other observation; every method is cheap and never throws. */
export interface PipelineObserver {
  stage(stage: Stage, seconds: number): void;
  bytes(bytesIn: number, bytesOut: number): void;
  /** One per handled delivery: its final outcome (or `retried` when handed to a delay tier). */
  outcome(outcome: Outcome, failureCode: string | null, keptOriginal?: boolean): void;
  inFlight(delta: 1 | -1): void;
}

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Monotonic ms, for durations. */
  monotonic(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface IdSource {
  /** A fresh event id (UUID). */
  eventId(): string;
}
