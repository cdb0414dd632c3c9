/**
 * The S3 object layout the services share (../shared/ARCHITECTURE.md, "Objects"), and the
 * metadata ingest stores on each input CSV. Written by ingest, read by the aggregator: between
 * the 202 and the moment the aggregator reads RequestAccepted (usually well under a second) a
 * request exists only as this object, and the status API answers PENDING from its metadata
 * instead of a 404 for a request that was accepted.
 */
import type { CompressionOptions, OutputFormat } from './events';
import { OUTPUT_FORMATS } from './events';

export const inputCsvKey = (requestId: string): string => `inputs/${requestId}.csv`;

/** What ingest records beside the input CSV: enough to answer a status before the read model has it. */
export interface InputSummary {
  products: number;
  images: number;
  /** Epoch ms the request was accepted. */
  acceptedAt: number;
  options: CompressionOptions;
  hasWebhook: boolean;
}

// S3 user metadata: lower-case ASCII keys and values (sent as x-amz-meta-* headers).
const KEYS = {
  products: 'imgpipe-products',
  images: 'imgpipe-images',
  acceptedAt: 'imgpipe-accepted-at',
  quality: 'imgpipe-quality',
  format: 'imgpipe-format',
  maxDimension: 'imgpipe-max-dimension',
  webhook: 'imgpipe-webhook',
} as const;

export function inputSummaryMetadata(s: InputSummary): Record<string, string> {
  return {
    [KEYS.products]: String(s.products),
    [KEYS.images]: String(s.images),
    [KEYS.acceptedAt]: String(s.acceptedAt),
    [KEYS.quality]: String(s.options.quality),
    [KEYS.format]: s.options.format,
    [KEYS.maxDimension]: s.options.maxDimension === null ? '' : String(s.options.maxDimension),
    [KEYS.webhook]: s.hasWebhook ? '1' : '0',
  };
}

const count = (v: string | undefined): number | undefined =>
  v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;

/** The summary from an object's metadata, or undefined when it is not one ingest wrote. */
export function inputSummaryFromMetadata(
  m: Record<string, string | undefined>,
): InputSummary | undefined {
  const products = count(m[KEYS.products]);
  const images = count(m[KEYS.images]);
  const acceptedAt = count(m[KEYS.acceptedAt]);
  const quality = count(m[KEYS.quality]);
  const format = m[KEYS.format];
  const maxDimension = m[KEYS.maxDimension];
  if (products === undefined || images === undefined || acceptedAt === undefined) return undefined;
  if (quality === undefined || !OUTPUT_FORMATS.includes(format as OutputFormat)) return undefined;
  if (maxDimension === undefined || (maxDimension !== '' && count(maxDimension) === undefined)) {
    return undefined;
  }
  return {
    products,
    images,
    acceptedAt,
    options: {
      quality,
      format: format as OutputFormat,
      maxDimension: maxDimension === '' ? null : Number(maxDimension),
    },
    hasWebhook: m[KEYS.webhook] === '1',
  };
}
