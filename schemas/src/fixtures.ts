/**
 * One realistic, valid example of every event, for tests in every package. Fixtures hang
 * together: the same request, the same products and images, ids derived as in production.
 * Use `fixture(name, overrides)` for a fresh copy to modify; `fixtures` itself is shared.
 */
import { completionIdFor, imageIdFor } from './ids';
import type {
  CompressionOptions,
  EventMap,
  EventName,
  ImageRef,
  ImageCompressed,
  ImageFailed,
  ImageRequested,
  RequestAccepted,
  RequestCompleted,
  Envelope,
} from './events';

export const FIXTURE_REQUEST_ID = '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70';
const ACCEPTED_AT = Date.UTC(2026, 0, 15, 9, 30, 0);
const BASE_URL = 'http://127.0.0.1:8080';

const options: CompressionOptions = { quality: 50, format: 'keep', maxDimension: null };

const imageRef = (
  productIndex: number,
  imageIndex: number,
  serialNumber: string,
  productName: string,
  inputUrl: string,
): ImageRef => ({
  imageId: imageIdFor(FIXTURE_REQUEST_ID, productIndex, imageIndex),
  productIndex,
  imageIndex,
  serialNumber,
  productName,
  inputUrl,
});

const firstImage = imageRef(
  0,
  0,
  'SKU-1001',
  'Trail Running Shoe',
  'https://cdn.example.com/p/1001/front.jpg',
);
const secondImage = imageRef(
  0,
  1,
  'SKU-1001',
  'Trail Running Shoe',
  'https://cdn.example.com/p/1001/side.jpg',
);

const requestAccepted: RequestAccepted = {
  eventId: '5f0c2a8e-1b3d-4c6f-8a9e-7d2b4c6e8f01',
  occurredAt: ACCEPTED_AT,
  requestId: FIXTURE_REQUEST_ID,
  products: 2,
  images: 3,
  options,
  inputCsvKey: `inputs/${FIXTURE_REQUEST_ID}.csv`,
  webhookUrl: 'https://hooks.example.com/imgpipe',
  webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  email: null,
};

const imageRequested: ImageRequested = {
  eventId: '6a1d3b9f-2c4e-4d7a-9b0f-8e3c5d7f9a12',
  occurredAt: ACCEPTED_AT + 12,
  requestId: FIXTURE_REQUEST_ID,
  ...firstImage,
  options,
};

const imageCompressed: ImageCompressed = {
  eventId: '7b2e4c0a-3d5f-4e8b-8c1a-9f4d6e8a0b23',
  occurredAt: ACCEPTED_AT + 2_350,
  requestId: FIXTURE_REQUEST_ID,
  ...firstImage,
  bytesIn: 1_482_113,
  bytesOut: 402_559,
  width: 2000,
  height: 1500,
  format: 'jpeg',
  keptOriginal: false,
  outputKey: `outputs/${FIXTURE_REQUEST_ID}/1-1.jpg`,
  outputUrl: `${BASE_URL}/images/${FIXTURE_REQUEST_ID}/1/1`,
  attempts: 1,
  downloadMs: 840,
  compressMs: 1_210,
  uploadMs: 95,
};

const imageFailed: ImageFailed = {
  eventId: '8c3f5d1b-4e6a-4f9c-9d2b-0a5e7f9b1c34',
  occurredAt: ACCEPTED_AT + 1_020,
  requestId: FIXTURE_REQUEST_ID,
  ...secondImage,
  failureCode: 'HTTP_NOT_FOUND',
  message: 'GET https://cdn.example.com/p/1001/side.jpg answered 404 Not Found',
  httpStatus: 404,
  attempts: 1,
};

const requestCompleted: RequestCompleted = {
  eventId: '9d4a6e2c-5f7b-4a0d-8e3c-1b6f8a0c2d45',
  occurredAt: ACCEPTED_AT + 4_100,
  requestId: FIXTURE_REQUEST_ID,
  completionId: completionIdFor(FIXTURE_REQUEST_ID),
  status: 'COMPLETED_WITH_ERRORS',
  total: 3,
  compressed: 2,
  failed: 1,
  bytesIn: 2_640_901,
  bytesOut: 733_270,
  outputCsvKey: `results/${FIXTURE_REQUEST_ID}.csv`,
  outputCsvUrl: `${BASE_URL}/requests/${FIXTURE_REQUEST_ID}/output.csv`,
  completedAt: ACCEPTED_AT + 4_020,
  createdAt: ACCEPTED_AT,
  webhookUrl: 'https://hooks.example.com/imgpipe',
  webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  email: null,
};

/** An ImageRequested that timed out once, waiting on the first image retry tier. */
const envelope: Envelope = {
  originalTopic: 'imgpipe.images.requested.v1',
  originalPartition: 7,
  originalOffset: '18342',
  key: imageRequested.imageId,
  // Any bytes: the envelope never decodes its payload (it may be a poison message).
  payload: Buffer.from('0a1b2c3d4e5f', 'hex'),
  headers: {
    'imgpipe-schema': 'dev.imgpipe.events.ImageRequested@0000',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
  attempt: 1,
  firstAttemptAt: ACCEPTED_AT + 30_040,
  dueAt: ACCEPTED_AT + 60_040,
  reason: 'download timed out after 15000 ms',
  failureCode: 'TIMEOUT',
};

/** One valid example per event, typed by the TS contract (so tsc checks them too). */
export const fixtures: { readonly [K in EventName]: EventMap[K] } = {
  RequestAccepted: requestAccepted,
  ImageRequested: imageRequested,
  ImageCompressed: imageCompressed,
  ImageFailed: imageFailed,
  RequestCompleted: requestCompleted,
  Envelope: envelope,
};

const deepCopy = <T>(value: T): T => {
  if (Buffer.isBuffer(value)) {
    return Buffer.from(value) as T;
  }
  if (Array.isArray(value)) {
    return value.map(deepCopy) as T;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepCopy(v)])) as T;
  }
  return value;
};

/** A fresh deep copy of an event's fixture with `overrides` applied (shallow, top level). */
export function fixture<K extends EventName>(
  name: K,
  overrides: Partial<EventMap[K]> = {},
): EventMap[K] {
  return { ...deepCopy(fixtures[name]), ...overrides };
}
