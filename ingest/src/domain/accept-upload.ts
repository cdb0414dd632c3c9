import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Logger, OutgoingEvent } from '@imgpipe/platform';
import { errorCode } from '@imgpipe/platform';
import {
  inputCsvKey,
  topicCatalogue,
  imageIdFor,
  type ImageFailed,
  type ImageRef,
  type ImageRequested,
  type RequestAccepted,
  type TopicSpec,
} from '@imgpipe/schemas';
import type { ProductRow } from './csv/row';
import { UnavailableError, UploadCodes, UploadError, excerpt } from './errors';
import type { UploadOptions } from './form-fields';
import type {
  AcceptedBody,
  EventPublisher,
  IdempotencyRecord,
  IdempotencyStore,
  InputStore,
  UploadedFile,
} from './ports';

/** A fully validated upload: nothing about it can be rejected any more. */
export interface ValidUpload {
  file: UploadedFile;
  products: readonly ProductRow[];
  images: number;
  options: UploadOptions;
  idempotencyKey?: string | undefined;
}

export interface AcceptResult {
  body: AcceptedBody;
  /** True when an Idempotency-Key replay answered a previous request's 202. */
  replayed: boolean;
}

export interface UploadAcceptorDeps {
  publisher: EventPublisher;
  inputs: InputStore;
  idempotency: IdempotencyStore;
  logger: Logger;
  /** The one URL users use (status_url is built on it). */
  publicBaseUrl: string;
  /** ImageRequested events per publish call. */
  batchSize: number;
  /** Retry-After sent with 503s. */
  retryAfterSeconds: number;
  /** ImageRequested batches in flight at once (default 4). */
  publishWindow?: number;
  /** Where the events go (default: the catalogue's; benchmarks use private topics). */
  topics?: IngestTopics;
  /** Overridable for tests. */
  newRequestId?: () => string;
  now?: () => number;
}

/** The topics ingest publishes to. */
export interface IngestTopics {
  /** RequestAccepted and, when queueing fails part-way, ImageFailed (key = requestId). */
  requestEvents: TopicSpec;
  /** ImageRequested (key = imageId). */
  imagesRequested: TopicSpec;
}

/** The catalogue topics, with KAFKA_TOPIC_PREFIX applied. */
export const catalogueTopics = (prefix = ''): IngestTopics => {
  const t = topicCatalogue(prefix);
  return { requestEvents: t.requestEvents, imagesRequested: t.imagesRequested };
};

export const CATALOGUE_TOPICS: IngestTopics = catalogueTopics();

export interface UploadAcceptor {
  accept(upload: ValidUpload): Promise<AcceptResult>;
}

export const ACCEPTED_MESSAGE = 'File accepted, processing started';

/** Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** Shared with the aggregator, which reads the object's metadata (schemas/src/objects.ts). */
export { inputCsvKey };

/** What makes two uploads "the same request" for an Idempotency-Key: the file and the options. */
export const uploadFingerprint = (fileSha256: string, options: UploadOptions): string =>
  createHash('sha256')
    .update(
      JSON.stringify({
        file: fileSha256,
        quality: options.compression.quality,
        format: options.compression.format,
        maxDimension: options.compression.maxDimension,
        webhookUrl: options.webhookUrl,
        email: options.email,
      }),
    )
    .digest('hex');

/** Every image of the upload in input order (0-based product and image positions). */
function* imageRefs(requestId: string, products: readonly ProductRow[]): Generator<ImageRef> {
  for (const p of products) {
    for (let i = 0; i < p.urls.length; i += 1) {
      yield {
        imageId: imageIdFor(requestId, p.productIndex, i),
        productIndex: p.productIndex,
        imageIndex: i,
        serialNumber: p.serialNumber,
        productName: p.productName,
        inputUrl: p.urls[i]!,
      };
    }
  }
}

function* batches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * The accept path of POST /upload (issue #4, "Accepting"), in this order:
 *  1. Idempotency-Key claimed (if given) — a replay or conflict stops here.
 *  2. The original CSV stored at `inputs/{requestId}.csv`.
 *  3. RequestAccepted published to requests.events and acknowledged, so the aggregator knows
 *     the total before any image result can arrive.
 *  4. One ImageRequested per image to images.requested (key = imageId), in batches.
 * Failures: before step 3 is acknowledged nothing is observable, so the input object is
 * deleted and the client gets 503 to retry. After it, the request exists; if step 4 fails
 * part-way, every image not yet queued gets an ImageFailed (INTERNAL) on requests.events so
 * the request still completes (COMPLETED_WITH_ERRORS or FAILED) and the client gets 503 naming
 * it. If even that fails the request is stranded: it is logged and counted, and the
 * aggregator closes it as FAILED when it stalls past its timeout.
 */
export function createUploadAcceptor(deps: UploadAcceptorDeps): UploadAcceptor {
  const now = deps.now ?? Date.now;
  const newRequestId = deps.newRequestId ?? randomUUID;
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  const topics = deps.topics ?? CATALOGUE_TOPICS;
  const publishWindow = deps.publishWindow ?? 4;

  const unavailable = (code: string, message: string, cause?: unknown, details?: unknown) =>
    new UnavailableError(code, message, deps.retryAfterSeconds, { cause, details });

  async function replayOrConflict(
    existing: IdempotencyRecord,
    upload: ValidUpload,
    fingerprint: string,
  ): Promise<AcceptResult> {
    const key = upload.idempotencyKey!;
    const detail = (problem: string) => [
      { field: 'Idempotency-Key', value: excerpt(key), problem },
    ];
    if (existing.fileSha256 !== upload.file.sha256) {
      throw new UploadError(
        409,
        UploadCodes.idempotencyKeyReused,
        'This Idempotency-Key was already used with a different file; use a new key for a new upload',
        detail('already used with a different file'),
      );
    }
    if (existing.fingerprint !== fingerprint) {
      throw new UploadError(
        409,
        UploadCodes.idempotencyKeyReused,
        'This Idempotency-Key was already used with the same file but different options; use a new key for a new upload',
        detail('already used with different options'),
      );
    }
    if (existing.state !== 'ACCEPTED' || existing.response === null) {
      throw new UploadError(
        409,
        UploadCodes.idempotencyInProgress,
        'An upload with this Idempotency-Key is still being accepted; retry shortly',
        detail('the first upload with this key is still in progress'),
        deps.retryAfterSeconds,
      );
    }
    return Promise.resolve({ body: existing.response, replayed: true });
  }

  async function closeUnqueued(
    requestId: string,
    refs: readonly ImageRef[],
    log: Logger,
  ): Promise<void> {
    const failedAt = now();
    for (const batch of batches(refs, deps.batchSize)) {
      await deps.publisher.publish(
        topics.requestEvents,
        batch.map((ref): OutgoingEvent<'ImageFailed'> => ({
          name: 'ImageFailed',
          key: requestId,
          value: {
            eventId: randomUUID(),
            occurredAt: failedAt,
            requestId,
            ...ref,
            failureCode: 'INTERNAL',
            message: 'ingest could not queue this image for processing (Kafka unavailable)',
            httpStatus: null,
            attempts: 0,
          } satisfies ImageFailed,
        })),
      );
    }
    log.warn({ images: refs.length }, 'images not queued were closed as failed');
  }

  async function run(upload: ValidUpload, requestId: string, log: Logger): Promise<AcceptedBody> {
    const { options } = upload;
    const key = inputCsvKey(requestId);
    const t0 = performance.now();
    try {
      await deps.inputs.save(key, upload.file, {
        products: upload.products.length,
        images: upload.images,
        acceptedAt: now(),
        options: options.compression,
        hasWebhook: options.webhookUrl !== null,
      });
    } catch (err) {
      log.error({ err }, 'storing the input CSV failed');
      throw unavailable(
        UploadCodes.storageUnavailable,
        'File storage is unavailable; nothing was accepted, retry later',
        err,
      );
    }

    const t1 = performance.now();
    const webhookSecret = options.webhookUrl === null ? null : newWebhookSecret();
    const accepted: RequestAccepted = {
      eventId: randomUUID(),
      occurredAt: now(),
      requestId,
      products: upload.products.length,
      images: upload.images,
      options: options.compression,
      inputCsvKey: key,
      webhookUrl: options.webhookUrl,
      webhookSecret,
      email: options.email,
    };
    try {
      await deps.publisher.publish(topics.requestEvents, [
        { name: 'RequestAccepted', key: requestId, value: accepted },
      ]);
    } catch (err) {
      log.error({ err }, 'publishing RequestAccepted failed');
      // Nothing is observable yet: leave no object behind.
      await deps.inputs.remove(key).catch((removeErr: unknown) => {
        log.error({ err: removeErr, key }, 'removing the input CSV after a failed accept failed');
      });
      if (errorCode(err)?.startsWith('ERR_ENCODE') === true) throw err;
      throw unavailable(
        UploadCodes.queueUnavailable,
        'The event queue is unavailable; nothing was accepted, retry later',
        err,
      );
    }

    const t2 = performance.now();
    const optionsOut = options.compression;
    // Up to `publishWindow` batches in flight: the next batch is built and encoded while the
    // broker acknowledges the previous ones (the bus keeps one produce request in flight and
    // coalesces what queues up behind it).
    let queued = 0;
    let publishError: unknown;
    const unqueued: ImageRef[][] = [];
    const inFlight = new Set<Promise<void>>();
    const send = (batch: ImageRef[]) => {
      const sent: Promise<void> = deps.publisher
        .publish(
          topics.imagesRequested,
          batch.map((ref): OutgoingEvent<'ImageRequested'> => ({
            name: 'ImageRequested',
            key: ref.imageId,
            value: {
              eventId: randomUUID(),
              occurredAt: now(),
              requestId,
              ...ref,
              options: optionsOut,
            } satisfies ImageRequested,
          })),
        )
        .then(
          () => {
            queued += batch.length;
          },
          (err: unknown) => {
            // This batch may be partly written; its images get ImageFailed too and the
            // aggregator keeps the first final state per image.
            publishError ??= err;
            unqueued.push(batch);
          },
        )
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    };
    const pendingBatches = batches(imageRefs(requestId, upload.products), deps.batchSize);
    for (let next = pendingBatches.next(); !next.done; next = pendingBatches.next()) {
      if (publishError !== undefined) {
        unqueued.push(next.value);
        continue;
      }
      send(next.value);
      if (inFlight.size >= publishWindow) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const pending = publishError === undefined ? undefined : unqueued.flat();

    const statusUrl = `${base}/status/${requestId}`;
    if (pending !== undefined) {
      log.error(
        { err: publishError, queued, notQueued: pending.length },
        'publishing ImageRequested failed',
      );
      const details = { request_id: requestId, status_url: statusUrl, images_queued: queued };
      try {
        await closeUnqueued(requestId, pending, log);
      } catch (err) {
        log.error(
          { err, notQueued: pending.length },
          'request stranded: neither ImageRequested nor ImageFailed could be published; the aggregator will close it as FAILED when it stalls',
        );
        throw unavailable(
          UploadCodes.requestStranded,
          `The event queue failed while request ${requestId} was being accepted; it will be closed as failed. Upload the file again later`,
          publishError,
          details,
        );
      }
      throw unavailable(
        UploadCodes.requestClosed,
        `The event queue failed while request ${requestId} was being accepted: ${queued} of ${upload.images} images were queued and the rest were marked failed. Upload the file again later`,
        publishError,
        details,
      );
    }

    const t3 = performance.now();
    log.info(
      {
        products: upload.products.length,
        images: upload.images,
        // Where the time to 202 went (the operator's first question when uploads get slow).
        storeMs: Math.round(t1 - t0),
        acceptedMs: Math.round(t2 - t1),
        imagesMs: Math.round(t3 - t2),
      },
      'upload accepted',
    );
    return {
      request_id: requestId,
      status: 'PENDING',
      status_url: statusUrl,
      products: upload.products.length,
      images: upload.images,
      message: ACCEPTED_MESSAGE,
      ...(webhookSecret === null ? {} : { webhook_secret: webhookSecret }),
    };
  }

  return {
    async accept(upload) {
      const requestId = newRequestId();
      const log = deps.logger.child({ requestId });
      const key = upload.idempotencyKey;
      if (key === undefined) return { body: await run(upload, requestId, log), replayed: false };

      const fingerprint = uploadFingerprint(upload.file.sha256, upload.options);
      const record = { key, fingerprint, fileSha256: upload.file.sha256, requestId };
      let claim;
      try {
        claim = await deps.idempotency.claim(record);
      } catch (err) {
        log.error({ err }, 'claiming the Idempotency-Key failed');
        throw unavailable(
          UploadCodes.idempotencyUnavailable,
          'Idempotency-Key storage is unavailable; nothing was accepted, retry later',
          err,
        );
      }
      if (!claim.claimed) return replayOrConflict(claim.existing, upload, fingerprint);

      let body: AcceptedBody;
      try {
        body = await run(upload, requestId, log);
      } catch (err) {
        // The client was told to retry: let the same key start afresh.
        await deps.idempotency.release(key, requestId).catch((releaseErr: unknown) => {
          log.error(
            { err: releaseErr },
            'releasing the Idempotency-Key failed; it lapses by itself',
          );
        });
        throw err;
      }
      try {
        await deps.idempotency.complete({ ...record, response: body });
      } catch (err) {
        // The request is accepted; only a replay of it is affected (409 until the claim lapses).
        log.error({ err }, 'recording the Idempotency-Key response failed');
      }
      return { body, replayed: false };
    },
  };
}
