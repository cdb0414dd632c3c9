import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../domain/ports';

/**
 * Output images in S3. A single PutObject (images are capped at 25 MiB, below the multipart
 * threshold anyone would pick), to a deterministic key: a replay overwrites the same object.
 * The client's own timeouts and retries apply (platform `createS3Client`).
 */
export function createS3Store(s3: S3Client, bucket: string): ObjectStore {
  return {
    async put(key, bytes, contentType, signal) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          ContentLength: bytes.length,
        }),
        { abortSignal: signal },
      );
    },
  };
}
