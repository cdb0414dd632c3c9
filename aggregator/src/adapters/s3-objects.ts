/**
 * S3: the output CSV (written) and the objects the download routes stream (read). Keys are
 * deterministic (results/{id}.csv, outputs/{id}/{p}-{i}.{ext}), so a rewrite is idempotent.
 */
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inputCsvKey, inputSummaryFromMetadata, type InputSummary } from '@imgpipe/schemas';
import type { OutputStore } from '../domain/ports';

export type ObjectRead =
  | {
      kind: 'found';
      body: Readable;
      contentType: string | null;
      contentLength: number | null;
      etag: string | null;
      lastModified: Date | null;
    }
  | { kind: 'not-modified'; etag: string | null }
  | { kind: 'missing' };

/** What the query routes need from the object store. */
export interface ObjectReader {
  /** Streams an object; `ifNoneMatch` turns a matching ETag into `not-modified`. */
  read(key: string, ifNoneMatch?: string): Promise<ObjectRead>;
  /**
   * What ingest stored with an accepted request's input CSV, or undefined when there is no
   * such object: the status of a request this service has not read RequestAccepted for yet.
   */
  describeInput(requestId: string): Promise<InputSummary | undefined>;
}

const statusOf = (err: unknown): number | undefined =>
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** True for an S3 error worth retrying later: 5xx/throttling, timeouts, refused connections. */
export function isS3Unavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { $retryable?: unknown; name?: unknown; code?: unknown };
  const status = statusOf(err);
  if (status !== undefined) return status >= 500 || status === 429;
  return (
    e.$retryable !== undefined ||
    e.name === 'TimeoutError' ||
    (typeof e.code === 'string' &&
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN)$/.test(e.code))
  );
}

export function createS3Objects(s3: S3Client, bucket: string): OutputStore & ObjectReader {
  return {
    async putOutputCsv(key, body) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'text/csv; charset=utf-8',
          ContentLength: body.length,
        }),
      );
    },

    async describeInput(requestId) {
      try {
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: inputCsvKey(requestId) }),
        );
        return inputSummaryFromMetadata(head.Metadata ?? {});
      } catch (err) {
        if (statusOf(err) === 404 || (err as { name?: string }).name === 'NotFound') {
          return undefined;
        }
        throw err;
      }
    },

    async read(key, ifNoneMatch) {
      try {
        const out = await s3.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}),
          }),
        );
        return {
          kind: 'found',
          body: out.Body as Readable,
          contentType: out.ContentType ?? null,
          contentLength: out.ContentLength ?? null,
          etag: out.ETag ?? null,
          lastModified: out.LastModified ?? null,
        };
      } catch (err) {
        const status = statusOf(err);
        if (status === 304) return { kind: 'not-modified', etag: ifNoneMatch ?? null };
        if (status === 404 || (err as { name?: string }).name === 'NoSuchKey') {
          return { kind: 'missing' };
        }
        throw err;
      }
    },
  };
}
