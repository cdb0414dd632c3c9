import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { inputSummaryMetadata } from '@imgpipe/schemas';
import type { InputStore } from '../domain/ports';

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
          // Lets the status API answer PENDING before the aggregator has read RequestAccepted.
          Metadata: inputSummaryMetadata(summary),
        },
        partSize: 8 * 1024 * 1024,
        queueSize: 2,
        leavePartsOnError: false,
      }).done();
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}
