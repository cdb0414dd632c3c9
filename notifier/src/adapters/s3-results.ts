import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CsvFetch, ResultFiles } from '../domain/ports';

const isNotFound = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/** Reads the output CSV (`results/{requestId}.csv`) for the completion e-mail. */
export function createS3Results(s3: S3Client, bucket: string): ResultFiles {
  return {
    async fetchIfSmall(key: string, maxBytes: number): Promise<CsvFetch> {
      let response;
      try {
        response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        if (isNotFound(err)) return { kind: 'missing' };
        throw err;
      }
      const size = response.ContentLength ?? 0;
      if (size > maxBytes) {
        // Too big to attach: stop the download instead of reading it to throw it away.
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return { kind: 'too_large', size };
      }
      const bytes = await response.Body?.transformToByteArray();
      if (bytes === undefined) return { kind: 'missing' };
      if (bytes.byteLength > maxBytes) return { kind: 'too_large', size: bytes.byteLength };
      return { kind: 'ok', content: Buffer.from(bytes) };
    },
  };
}
