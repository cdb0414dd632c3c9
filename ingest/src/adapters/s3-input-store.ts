import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { InputStore, InputSummary } from '../domain/ports';

/**
 * Original CSVs in S3. lib-storage's Upload reads the spooled file in parts (a single
 * PutObject for small files), so a 20 MiB upload is never held in memory whole, and a failed
 * multipart upload is aborted (no half-written object is left behind).
 */
export function createS3InputStore(s3: S3Client, bucket: string): InputStore {
  return {
    async save(key, file, summary) {
      await new Upload({
        client: s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: file.open(),
          ContentType: 'text/csv; charset=utf-8',
          // Lets the edge answer a status before the aggregator has materialised the request.
          Metadata: {
            'imgpipe-products': String(summary.products),
            'imgpipe-images': String(summary.images),
            'imgpipe-accepted-at': String(summary.acceptedAt),
          },
        },
        partSize: 8 * 1024 * 1024,
        queueSize: 2,
        leavePartsOnError: false,
      }).done();
    },
    async describe(key): Promise<InputSummary | undefined> {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        const m = head.Metadata ?? {};
        const products = Number(m['imgpipe-products']);
        const images = Number(m['imgpipe-images']);
        const acceptedAt = Number(m['imgpipe-accepted-at']);
        return [products, images, acceptedAt].every(Number.isFinite)
          ? { products, images, acceptedAt }
          : undefined;
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return undefined;
        throw err;
      }
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
