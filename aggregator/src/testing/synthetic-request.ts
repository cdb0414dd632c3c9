/**
 * Synthetic requests for the aggregator's integration tests and its benchmark: a request's
 * RequestAccepted, one result per image, and the counts a correct aggregator must end with.
 */
import { randomUUID } from 'node:crypto';
import { fixture, imageIdFor, type AnyEvent } from '@imgpipe/schemas';

export type TestEvent = Extract<
  AnyEvent,
  { name: 'RequestAccepted' | 'ImageCompressed' | 'ImageFailed' }
>;

export interface Truth {
  requestId: string;
  total: number;
  compressed: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  status: 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
}

/**
 * A request of `products` × `perProduct` images where image n fails when `fails(n)`; its
 * RequestAccepted, one result per image, and the counts a correct aggregator must end with.
 */
export function syntheticRequest(
  requestId: string,
  products: number,
  perProduct: number,
  fails: (n: number) => boolean = () => false,
): { accepted: TestEvent; results: TestEvent[]; truth: Truth } {
  const accepted: TestEvent = {
    name: 'RequestAccepted',
    value: fixture('RequestAccepted', { requestId, products, images: products * perProduct }),
  };
  const results: TestEvent[] = [];
  const truth: Truth = {
    requestId,
    total: products * perProduct,
    compressed: 0,
    failed: 0,
    bytesIn: 0,
    bytesOut: 0,
    status: 'COMPLETED',
  };
  for (let p = 0; p < products; p += 1) {
    for (let i = 0; i < perProduct; i += 1) {
      const n = p * perProduct + i;
      const ref = {
        requestId,
        eventId: randomUUID(),
        imageId: imageIdFor(requestId, p, i),
        productIndex: p,
        imageIndex: i,
        serialNumber: String(p + 1),
        productName: `Product ${p + 1}`,
        inputUrl: `https://cdn.example.com/${p}/${i}.jpg`,
      };
      if (fails(n)) {
        truth.failed += 1;
        results.push({ name: 'ImageFailed', value: fixture('ImageFailed', ref) });
      } else {
        const bytesIn = 10_000 + n;
        const bytesOut = 3_000 + n;
        truth.compressed += 1;
        truth.bytesIn += bytesIn;
        truth.bytesOut += bytesOut;
        results.push({
          name: 'ImageCompressed',
          value: fixture('ImageCompressed', {
            ...ref,
            bytesIn,
            bytesOut,
            outputKey: `outputs/${requestId}/${p + 1}-${i + 1}.jpg`,
          }),
        });
      }
    }
  }
  truth.status =
    truth.failed === 0 ? 'COMPLETED' : truth.compressed === 0 ? 'FAILED' : 'COMPLETED_WITH_ERRORS';
  return { accepted, results, truth };
}
