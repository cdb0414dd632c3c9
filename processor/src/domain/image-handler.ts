import type { ImageFailed, ImageRef, ImageRequested } from '@imgpipe/schemas';
import type { ImageFailure } from './failure';
import type { ImagePipeline, TryContext } from './pipeline';
import type { Clock, IdSource, PipelineObserver, ResultPublisher } from './ports';

/** One delivery of an ImageRequested (the bus's attempt counter: 1 = first delivery). */
export interface Delivery extends TryContext {
  request: ImageRequested;
  /** 1 on first delivery, +1 per redelivery through a delay tier. */
  attempt: number;
}

/** The handler's verdict; the app maps it onto the bus's `done()` / `retry()`. */
export type Decision =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly reason: string; readonly afterMs?: number };

export interface RetrySettings {
  /** Deliveries in all: the first plus one per delay tier. */
  maxDeliveries: number;
  /** Pause before the one quick in-process retry on the first delivery. */
  quickRetryMs: number;
}

export interface ImageHandlerDeps {
  pipeline: ImagePipeline;
  publisher: ResultPublisher;
  observer: PipelineObserver;
  clock: Clock;
  ids: IdSource;
  retry: RetrySettings;
}

export interface ImageHandler {
  /**
   * Runs the image (with one quick retry on a transient failure during the first delivery),
   * publishes the final ImageCompressed / ImageFailed when there is one, and says whether the
   * delivery is done or should go to the next delay tier. Resolves only after the result event
   * is acknowledged, so committing the offset afterwards never loses an image.
   */
  handle(delivery: Delivery): Promise<Decision>;
  /**
   * The message has no attempts left (the bus calls this before dead-lettering): publishes the
   * final ImageFailed RETRIES_EXHAUSTED, carrying the last failure's message and HTTP status.
   */
  exhausted(delivery: Delivery, reason: string): Promise<void>;
}

/**
 * Attempt accounting. The first delivery makes up to two tries (the try and the quick retry);
 * every later delivery makes one. So before delivery n ≥ 2 there were n tries, and with three
 * delay tiers an image gets at most 2 + 3 = 5 attempts in all (issue 5, "Retries"). A delivery
 * that threw after a try (e.g. the result could not be published) makes this an over-count,
 * never an under-count: the cap holds.
 */
const triesBefore = (delivery: number): number => (delivery <= 1 ? 0 : delivery);
const triesDuring = (delivery: number): number => (delivery <= 1 ? 2 : 1);

/** Creates the ImageRequested handler: the retry policy and the one final result per image. */
export function createImageHandler(deps: ImageHandlerDeps): ImageHandler {
  const { pipeline, publisher, observer, clock, ids } = deps;
  // Last transient failure of a final delivery, so `exhausted` can say what went wrong: the
  // bus hands it only the reason string. Bounded: entries are taken once, and old ones evicted.
  const lastFailures = new Map<string, ImageFailure>();
  const remember = (key: string, failure: ImageFailure) => {
    lastFailures.set(key, failure);
    if (lastFailures.size > 10_000) lastFailures.delete(lastFailures.keys().next().value!);
  };
  const failureKey = (d: Delivery) => `${d.request.imageId}#${d.attempt}`;

  const base = (
    request: ImageRequested,
  ): ImageRef & { eventId: string; occurredAt: number; requestId: string } => ({
    eventId: ids.eventId(),
    occurredAt: clock.now(),
    requestId: request.requestId,
    imageId: request.imageId,
    productIndex: request.productIndex,
    imageIndex: request.imageIndex,
    serialNumber: request.serialNumber,
    productName: request.productName,
    inputUrl: request.inputUrl,
  });

  const publishFailed = async (
    request: ImageRequested,
    failure: Pick<ImageFailed, 'failureCode' | 'message' | 'httpStatus' | 'attempts'>,
  ) => {
    await publisher.publish({ name: 'ImageFailed', value: { ...base(request), ...failure } });
    observer.outcome('failed', failure.failureCode);
  };

  return {
    async handle(delivery) {
      const { request } = delivery;
      observer.inFlight(1);
      try {
        let tries = triesBefore(delivery.attempt);
        let result = await pipeline.runOnce(request, delivery);
        tries += 1;
        for (let i = 1; i < triesDuring(delivery.attempt); i++) {
          if (result.ok || !result.failure.transient) break;
          await clock.sleep(deps.retry.quickRetryMs, delivery.signal);
          await delivery.heartbeat();
          result = await pipeline.runOnce(request, delivery);
          tries += 1;
        }

        if (result.ok) {
          const stored = result.value;
          await publisher.publish({
            name: 'ImageCompressed',
            value: { ...base(request), ...stored, attempts: tries },
          });
          observer.outcome('compressed', null, stored.keptOriginal);
          return { kind: 'done' };
        }

        const { failure } = result;
        if (!failure.transient) {
          await publishFailed(request, {
            failureCode: failure.code,
            message: failure.message,
            httpStatus: failure.httpStatus ?? null,
            attempts: tries,
          });
          return { kind: 'done' };
        }

        const reason = `${failure.code}: ${failure.message}`;
        if (delivery.attempt >= deps.retry.maxDeliveries) remember(failureKey(delivery), failure);
        else observer.outcome('retried', failure.code);
        return failure.retryAfterMs === undefined
          ? { kind: 'retry', reason }
          : { kind: 'retry', reason, afterMs: failure.retryAfterMs };
      } finally {
        observer.inFlight(-1);
      }
    },

    async exhausted(delivery, reason) {
      const key = failureKey(delivery);
      const last = lastFailures.get(key);
      const attempts = triesBefore(delivery.attempt) + triesDuring(delivery.attempt);
      await publishFailed(delivery.request, {
        failureCode: 'RETRIES_EXHAUSTED',
        message: `Gave up after ${attempts} attempts; last error: ${
          last ? `${last.code}: ${last.message}` : reason
        }`,
        httpStatus: last?.httpStatus ?? null,
        attempts,
      });
      lastFailures.delete(key);
    },
  };
}
