import { S3Client, CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3Env } from './config';

// The pinned SDK supports Node 20; its notice is about releases after January 2027, which the
// lockfile does not take. Without this every process prints a 9-line warning at start.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3ClientOptions {
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

/**
 * The one way services build an S3 client.
 * - The SDK has no request timeout by default, and since @smithy/node-http-handler 4.4 an
 *   exceeded `requestTimeout` only logs unless `throwOnRequestTimeout` is set: set both, so a
 *   black-holed endpoint fails the attempt instead of hanging a handler past its heartbeat.
 * - Checksums `WHEN_REQUIRED`: SDK ≥ 3.729 otherwise adds CRC32 trailers (aws-chunked bodies)
 *   to every PutObject and validates every GetObject; S3Proxy 4.x accepts them, but MinIO and
 *   other S3-compatible stores vary, and the trailers cost a pass over every streamed body.
 *   Operations that require a checksum (DeleteObjects) still send one.
 * - Path-style addressing: S3Proxy and MinIO serve buckets on the path, not virtual hosts.
 */
export function createS3Client(env: S3Env, options: S3ClientOptions = {}): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
    maxAttempts: options.maxAttempts ?? 3,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 15_000,
      throwOnRequestTimeout: true,
    }),
  });
}

/** Creates the bucket unless it exists (idempotent; safe when two processes race). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404)
      throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
