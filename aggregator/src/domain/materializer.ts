/**
 * Turns the stream of request events (RequestAccepted, ImageCompressed, ImageFailed) into the
 * read model and decides completion exactly once (issue 6, ARCHITECTURE.md).
 *
 * Ownership: requests.events is keyed by request id, so one instance owns a request at a time
 * and applies its events in order. Per request this instance keeps the set of final images in
 * memory (loaded from Cassandra on first touch), so an event costs one idempotent write (its
 * image row) and no read; the request row's absolute counts are rewritten at most every
 * `progressFlushMs` per request (coalescing a burst of results into one write). The cache is
 * dropped for a partition whenever its offsets jump (another instance handled messages in
 * between: the partition moved away and back) or go back (redelivery), and for a request
 * after any failure, so it never outlives the truth in Cassandra.
 *
 * Completion (when every image is final): recount from images_by_request (the source of
 * truth), write results/{id}.csv, `INSERT … IF NOT EXISTS` the completion latch with the
 * deterministic completion id, write the terminal request row, publish RequestCompleted,
 * mark the latch published. A crash anywhere in between leaves the last event uncommitted;
 * its redelivery (or the sweeper) finds the latch and finishes the job with the same id.
 *
 * Requests that never complete are closed as FAILED by the sweeper: results whose
 * RequestAccepted never arrived (orphan timeout), and requests without progress for the stall
 * timeout (ingest relies on this when Kafka failed half-way through its publishing).
 */
import type { ImageCompressed, ImageFailed, RequestAccepted } from '@imgpipe/schemas';
import { completionIdFor, isUuid } from '@imgpipe/schemas';
import { InvalidEventError } from './errors';
import type {
  CompletionRecord,
  FinalMark,
  ImageRecord,
  OpenRequest,
  ProgressUpdate,
} from './model';
import { buildOutputCsv } from './output-csv';
import type {
  Clock,
  CompletionPublisher,
  DomainLogger,
  DomainMetrics,
  EventOutcome,
  OutputStore,
  RequestSnapshot,
  RequestStore,
} from './ports';
import { noopMetrics } from './ports';
import {
  applyFinal,
  countsOf,
  emptyState,
  imageKey,
  openStatus,
  readyToComplete,
  terminalStatusOf,
  type RequestState,
} from './request-state';
import { imageUrlFor, outputCsvKeyFor, outputCsvUrlFor, type PublicUrls } from './urls';

export type RequestEvent =
  | { name: 'RequestAccepted'; value: RequestAccepted }
  | { name: 'ImageCompressed'; value: ImageCompressed }
  | { name: 'ImageFailed'; value: ImageFailed };

/** Where an event came from: used to notice that a partition moved away and back. */
export interface EventPosition {
  /** Any string naming the partition, e.g. `${topic}/${partition}`. */
  partition: string;
  offset: bigint;
}

export interface MaterializerSettings {
  /** Results whose RequestAccepted has not arrived after this long close the request as FAILED. */
  orphanTimeoutMs: number;
  /** An accepted request with no image finishing for this long is closed as FAILED. */
  stallTimeoutMs: number;
  /**
   * A recorded but unpublished completion, or an open request that is ready to complete, is
   * left this long to the instance handling it before a sweep finishes the job.
   */
  recoveryGraceMs: number;
  /** Upper bound on requests held in memory (least recently used are dropped). */
  cacheMaxRequests: number;
  /**
   * A request's progress columns are written at most this often (the last change is written
   * when the period ends; 0 = on every event). Image rows, the truth, are always written
   * before an event counts as applied; the request row is derived from them, and a state
   * reloaded after a crash rewrites it (see reconcileProgress). Default 250 ms.
   */
  progressFlushMs?: number;
}

export interface MaterializerDeps {
  store: RequestStore;
  output: OutputStore;
  publisher: CompletionPublisher;
  clock: Clock;
  urls: PublicUrls;
  logger: DomainLogger;
  metrics?: DomainMetrics;
  settings: MaterializerSettings;
}

export interface SweepReport {
  open: number;
  closedOrphans: number;
  closedStalled: number;
  recovered: number;
}

export interface Materializer {
  /**
   * Applies one event; resolves when its effects are durable (then the offset may be
   * committed). Throws InvalidEventError for an event that can never be applied, and any
   * other error for a transient fault (apply it again later: it is idempotent).
   */
  apply(event: RequestEvent, position?: EventPosition): Promise<EventOutcome>;
  /** One pass over the open requests: timeouts and interrupted completions. */
  sweep(): Promise<SweepReport>;
  /** Drops every cached request state (the next event reloads from the store). */
  forgetAll(): void;
  /** Requests currently cached (for tests and metrics). */
  cachedRequests(): number;
  /** Writes every progress update still waiting for its period to end (at shutdown). */
  flush(): Promise<void>;
}

interface CacheEntry {
  state: RequestState;
  partition: string | null;
  touchedAt: number;
  /** When the request row's progress was last written (epoch ms; 0 = not by this entry). */
  progressWrittenAt: number;
  /** A coalesced progress write waiting for its period to end. */
  progressTimer: NodeJS.Timeout | undefined;
  /** Dropped because it may be wrong (partition moved, a failure): never write from it. */
  invalidated: boolean;
}

const formatDuration = (ms: number): string => {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
};

const requireIndex = (field: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidEventError(`${field} must be a non-negative integer, got ${String(value)}`);
  }
};

/** Validates the parts of an event Avro cannot, and returns the canonical (lower-case) id. */
function canonicalRequestId(event: RequestEvent): string {
  const { requestId } = event.value;
  if (!isUuid(requestId)) {
    throw new InvalidEventError(
      `${event.name}.requestId must be a UUID, got ${JSON.stringify(requestId)}`,
    );
  }
  if (event.name === 'RequestAccepted') {
    requireIndex('RequestAccepted.products', event.value.products);
    requireIndex('RequestAccepted.images', event.value.images);
  } else {
    requireIndex(`${event.name}.productIndex`, event.value.productIndex);
    requireIndex(`${event.name}.imageIndex`, event.value.imageIndex);
  }
  return requestId.toLowerCase();
}

const marksOf = (images: readonly ImageRecord[]): Map<string, FinalMark> =>
  new Map(
    images.map((i) => [
      imageKey(i.productIndex, i.imageIndex),
      { status: i.status, bytesIn: i.bytesIn ?? 0, bytesOut: i.bytesOut ?? 0 },
    ]),
  );

export function createMaterializer(deps: MaterializerDeps): Materializer {
  const { store, output, publisher, clock, urls, logger, settings } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const cache = new Map<string, CacheEntry>();
  const lastOffsets = new Map<string, bigint>();
  const locks = new Map<string, Promise<void>>();
  // A cached state older than this is reloaded: a sweeper elsewhere may have closed the
  // request meanwhile (it only closes requests idle for at least the smaller timeout).
  const idleReloadMs = Math.max(1, Math.min(settings.orphanTimeoutMs, settings.stallTimeoutMs) / 2);
  // lastProgressAt only has to be as fine as the stall timeout is coarse.
  const touchIntervalMs = Math.max(1, Math.min(60_000, settings.stallTimeoutMs / 10));
  const progressFlushMs = settings.progressFlushMs ?? 250;

  /** Forgets a request's state because it may be wrong; a pending progress write is void. */
  function invalidate(requestId: string): void {
    const entry = cache.get(requestId);
    if (!entry) return;
    entry.invalidated = true;
    clearTimeout(entry.progressTimer);
    cache.delete(requestId);
  }

  /** Serialises work on one request inside this process (handler vs sweeper). */
  async function withLock<T>(requestId: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(requestId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    locks.set(requestId, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(requestId) === tail) locks.delete(requestId);
    }
  }

  function observePosition(position: EventPosition): void {
    const last = lastOffsets.get(position.partition);
    if (last !== undefined && position.offset !== last + 1n) {
      // Someone else handled this partition in between (or this is a redelivery): whatever
      // is cached for its requests may be behind Cassandra.
      let dropped = 0;
      for (const [id, entry] of cache) {
        if (entry.partition === position.partition) {
          invalidate(id);
          dropped += 1;
        }
      }
      if (dropped > 0) {
        logger.info(
          {
            partition: position.partition,
            last: String(last),
            offset: String(position.offset),
            dropped,
          },
          'partition offsets jumped; cached request state dropped',
        );
      }
    }
    lastOffsets.set(position.partition, position.offset);
  }

  const stateFrom = (requestId: string, snapshot: RequestSnapshot): RequestState => ({
    ...emptyState(requestId),
    meta: snapshot.meta,
    finals: snapshot.finals,
    completion: snapshot.completion,
    open: snapshot.open,
  });

  async function entryFor(requestId: string, partition: string | null): Promise<CacheEntry> {
    const now = clock.now();
    const cached = cache.get(requestId);
    if (cached && now - cached.touchedAt < idleReloadMs) {
      // Refresh its place in the LRU order.
      cache.delete(requestId);
      cached.touchedAt = now;
      if (partition !== null) cached.partition = partition;
      cache.set(requestId, cached);
      return cached;
    }
    metrics.stateLoaded(cached ? 'fresh' : 'miss');
    if (cached) invalidate(requestId);
    const snapshot = await store.loadSnapshot(requestId);
    const entry: CacheEntry = {
      state: stateFrom(requestId, snapshot),
      partition,
      touchedAt: now,
      progressWrittenAt: 0,
      progressTimer: undefined,
      invalidated: false,
    };
    if (await reconcileProgress(entry.state, snapshot)) entry.progressWrittenAt = now;
    cache.set(requestId, entry);
    while (cache.size > settings.cacheMaxRequests) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    return entry;
  }

  const progressOf = (state: RequestState): ProgressUpdate => ({
    requestId: state.requestId,
    status: state.completion?.status ?? openStatus(state.finals),
    counts: countsOf(state.finals, state.meta?.total ?? null),
    updatedAt: clock.now(),
  });

  /**
   * A previous attempt may have written an image row and died before the request row (the
   * two writes are independent): the redelivered event is then a duplicate, so the request
   * row is brought in line with the images here, when the state is loaded.
   */
  async function reconcileProgress(
    state: RequestState,
    snapshot: RequestSnapshot,
  ): Promise<boolean> {
    if (!state.meta || state.completion) return false;
    const progress = progressOf(state);
    const stored = snapshot.stored;
    if (
      stored?.status === progress.status &&
      stored.compressed === progress.counts.compressed &&
      stored.failed === progress.counts.failed
    ) {
      return false;
    }
    await store.saveProgress(progress);
    return true;
  }

  /** Writes the request row's progress now if its period has passed, else once it has. */
  async function saveProgressSoon(entry: CacheEntry): Promise<void> {
    if (entry.progressTimer) return; // a write of the latest state is already due
    const now = clock.now();
    const wait = entry.progressWrittenAt + progressFlushMs - now;
    if (wait <= 0) {
      await store.saveProgress(progressOf(entry.state));
      entry.progressWrittenAt = now;
      return;
    }
    armProgressTimer(entry, wait);
  }

  function armProgressTimer(entry: CacheEntry, delayMs: number): void {
    entry.progressTimer = setTimeout(() => {
      void flushProgress(entry);
    }, delayMs);
    entry.progressTimer.unref();
  }

  async function flushProgress(entry: CacheEntry): Promise<void> {
    clearTimeout(entry.progressTimer);
    entry.progressTimer = undefined;
    const { requestId } = entry.state;
    await withLock(requestId, async () => {
      // Invalidated, or superseded by a newer state of the request (which writes its own):
      // nothing to write from this one. An entry merely evicted from the LRU still writes.
      const current = cache.get(requestId);
      if (entry.invalidated || (current !== undefined && current !== entry)) return;
      if (entry.state.completion || !entry.state.meta) return;
      try {
        await store.saveProgress(progressOf(entry.state));
        entry.progressWrittenAt = clock.now();
      } catch (err) {
        logger.warn({ err, requestId }, 'progress write failed; trying again in 1 s');
        armProgressTimer(entry, 1_000);
      }
    });
  }

  async function saveOpen(state: RequestState, open: OpenRequest): Promise<void> {
    await store.saveOpen(open);
    state.open = open;
  }

  /** Keeps lastProgressAt roughly current without a write per event. */
  async function touchOpen(state: RequestState, now: number): Promise<void> {
    const open = state.open;
    if (open && open.accepted && now - open.lastProgressAt < touchIntervalMs) return;
    await saveOpen(state, {
      requestId: state.requestId,
      accepted: state.meta !== null,
      openedAt: open?.openedAt ?? now,
      lastProgressAt: now,
    });
  }

  async function publishCompletion(state: RequestState, recovered: boolean): Promise<void> {
    const record = state.completion;
    if (!record) return;
    if (!record.published) {
      const meta = state.meta ?? (await store.getMeta(state.requestId));
      await publisher.publish({
        // The same logical event every time it is (re-)published.
        eventId: record.completionId,
        occurredAt: record.completedAt,
        requestId: state.requestId,
        completionId: record.completionId,
        status: record.status,
        total: record.total,
        compressed: record.compressed,
        failed: record.failed,
        bytesIn: record.bytesIn,
        bytesOut: record.bytesOut,
        outputCsvKey: record.outputCsvKey,
        outputCsvUrl: outputCsvUrlFor(urls, state.requestId),
        completedAt: record.completedAt,
        createdAt: record.createdAt ?? meta?.createdAt ?? record.completedAt,
        webhookUrl: meta?.webhookUrl ?? null,
        webhookSecret: meta?.webhookSecret ?? null,
        email: meta?.email ?? null,
      });
      await store.markPublished(state.requestId);
      state.completion = { ...record, published: true };
      metrics.completionPublished(recovered);
      if (recovered) {
        logger.info(
          { requestId: state.requestId, completionId: record.completionId },
          'recorded completion re-published',
        );
      }
    }
    await store.removeOpen(state.requestId);
    state.open = null;
  }

  /**
   * Writes the CSV, records the latch (first writer wins), writes the terminal row and
   * publishes. `failureReason` closes the request as FAILED whatever its images say.
   */
  async function complete(
    state: RequestState,
    images: readonly ImageRecord[],
    failureReason: string | null,
  ): Promise<void> {
    const requestId = state.requestId;
    // Another instance (or a sweep) may have recorded it since this state was loaded; its
    // record wins and its CSV must not be overwritten with a different view.
    const existing = await store.getCompletion(requestId);
    let record: CompletionRecord;
    if (existing) {
      record = existing;
    } else {
      const now = clock.now();
      const counts = countsOf(marksOf(images), state.meta?.total ?? null);
      const key = outputCsvKeyFor(requestId);
      await output.putOutputCsv(key, buildOutputCsv(images));
      const result = await store.recordCompletion({
        requestId,
        completionId: completionIdFor(requestId),
        status: failureReason === null ? terminalStatusOf(counts) : 'FAILED',
        outputCsvKey: key,
        published: false,
        completedAt: now,
        createdAt: state.meta?.createdAt ?? null,
        total: counts.total,
        compressed: counts.compressed,
        failed: counts.failed,
        bytesIn: counts.bytesIn,
        bytesOut: counts.bytesOut,
        failureReason,
      });
      metrics.completionRecorded(result.applied);
      record = result.record;
      if (result.applied) {
        metrics.requestCompleted(
          record.status,
          record.createdAt === null ? null : (record.completedAt - record.createdAt) / 1000,
        );
        logger.info(
          { requestId, status: record.status, total: record.total, failed: record.failed },
          'request completed',
        );
      }
    }
    state.completion = record;
    const products =
      state.meta?.products ?? images.reduce((max, i) => Math.max(max, i.productIndex + 1), 0);
    await store.saveTerminal({ requestId, completion: record, products, updatedAt: clock.now() });
    await publishCompletion(state, existing !== null);
  }

  async function maybeComplete(state: RequestState): Promise<void> {
    if (!readyToComplete(state) || !state.meta) return;
    // Memory says every image is final: confirm against the table before deciding. Rows
    // outside the request (results that raced ahead with a bad position) never count.
    const products = state.meta.products;
    const images = (await store.listImages(state.requestId)).filter(
      (i) => i.productIndex < products,
    );
    const finals = marksOf(images);
    if (finals.size < state.meta.total) {
      logger.warn(
        { requestId: state.requestId, memory: state.finals.size, stored: finals.size },
        'cached state was ahead of images_by_request; reloaded instead of completing',
      );
      state.finals = finals;
      await store.saveProgress(progressOf(state));
      return;
    }
    if (finals.size > state.meta.total) {
      logger.error(
        { requestId: state.requestId, total: state.meta.total, final: finals.size },
        'more final images than the request has; completing with what is recorded',
      );
    }
    state.finals = finals;
    await complete(state, images, null);
  }

  async function applyAccepted(entry: CacheEntry, event: RequestAccepted): Promise<EventOutcome> {
    const { state } = entry;
    if (state.completion) {
      // Closed already (normally, or as an orphan before this arrived): nothing to change,
      // but make sure its completion went out.
      await publishCompletion(state, true);
      return state.meta ? 'duplicate' : 'late';
    }
    if (state.meta) {
      await maybeComplete(state);
      return 'duplicate';
    }
    const now = clock.now();
    state.meta = {
      requestId: state.requestId,
      products: event.products,
      total: event.images,
      options: event.options,
      inputCsvKey: event.inputCsvKey,
      webhookUrl: event.webhookUrl,
      webhookSecret: event.webhookSecret,
      email: event.email,
      createdAt: event.occurredAt,
    };
    if (state.finals.size > 0) {
      for (const key of [...state.finals.keys()]) {
        if (Number(key.split(':')[0]) >= event.products) {
          logger.error(
            { requestId: state.requestId, position: key, products: event.products },
            'a result that arrived before RequestAccepted is outside the request; ignored',
          );
          state.finals.delete(key);
        }
      }
      logger.info(
        { requestId: state.requestId, results: state.finals.size },
        'RequestAccepted arrived after some of its results; applying them now',
      );
    }
    await store.saveAccepted(state.meta, progressOf(state));
    entry.progressWrittenAt = now;
    await saveOpen(state, {
      requestId: state.requestId,
      accepted: true,
      openedAt: state.open?.openedAt ?? now,
      lastProgressAt: now,
    });
    await maybeComplete(state);
    return 'applied';
  }

  /** The image row for a result (plain literals: this runs once per event). */
  function imageRecordOf(
    requestId: string,
    event: RequestEvent & { name: 'ImageCompressed' | 'ImageFailed' },
  ): ImageRecord {
    if (event.name === 'ImageCompressed') {
      const c = event.value;
      return {
        requestId,
        productIndex: c.productIndex,
        imageIndex: c.imageIndex,
        serialNumber: c.serialNumber,
        productName: c.productName,
        inputUrl: c.inputUrl,
        status: 'COMPRESSED',
        outputKey: c.outputKey,
        outputUrl: imageUrlFor(urls, requestId, c.productIndex, c.imageIndex, c.outputKey),
        failureCode: null,
        failureMessage: null,
        httpStatus: null,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        width: c.width,
        height: c.height,
        format: c.format,
        keptOriginal: c.keptOriginal,
        attempts: c.attempts,
        updatedAt: c.occurredAt,
      };
    }
    const f = event.value;
    return {
      requestId,
      productIndex: f.productIndex,
      imageIndex: f.imageIndex,
      serialNumber: f.serialNumber,
      productName: f.productName,
      inputUrl: f.inputUrl,
      status: 'FAILED',
      outputKey: null,
      outputUrl: null,
      failureCode: f.failureCode,
      failureMessage: f.message,
      httpStatus: f.httpStatus,
      bytesIn: null,
      bytesOut: null,
      width: null,
      height: null,
      format: null,
      keptOriginal: null,
      attempts: f.attempts,
      updatedAt: f.occurredAt,
    };
  }

  async function applyResult(
    entry: CacheEntry,
    event: RequestEvent & { name: 'ImageCompressed' | 'ImageFailed' },
  ): Promise<EventOutcome> {
    const { state } = entry;
    if (state.completion) {
      await publishCompletion(state, true);
      return 'late';
    }
    const v = event.value;
    if (state.meta && v.productIndex >= state.meta.products) {
      throw new InvalidEventError(
        `${event.name}.productIndex ${v.productIndex} is outside request ${state.requestId}, which has ${state.meta.products} products`,
      );
    }
    const record = imageRecordOf(state.requestId, event);
    const mark: FinalMark = {
      status: record.status,
      bytesIn: record.bytesIn ?? 0,
      bytesOut: record.bytesOut ?? 0,
    };
    if (applyFinal(state, v.productIndex, v.imageIndex, mark) === 'duplicate') {
      await maybeComplete(state);
      return 'duplicate';
    }
    const now = clock.now();
    if (state.meta) {
      // Absolute, idempotent upserts: if one fails the event is applied again from a
      // reloaded state, which rewrites both rows.
      await Promise.all([store.saveImage(record), saveProgressSoon(entry), touchOpen(state, now)]);
      await maybeComplete(state);
      return 'applied';
    }
    // Unknown request: keep the result (the row carries every ImageRef field) and remember
    // when the first one came, for the orphan timeout.
    await store.saveImage(record);
    if (!state.open) {
      await saveOpen(state, {
        requestId: state.requestId,
        accepted: false,
        openedAt: now,
        lastProgressAt: now,
      });
    }
    return 'orphan';
  }

  async function sweepOne(
    open: OpenRequest,
    now: number,
  ): Promise<keyof Omit<SweepReport, 'open'> | null> {
    const orphanDue = !open.accepted && now - open.openedAt >= settings.orphanTimeoutMs;
    const stallDue = open.accepted && now - open.lastProgressAt >= settings.stallTimeoutMs;
    // Not timed out: only an interrupted completion (latch recorded, not yet published and
    // cleaned up) needs this sweep, and one cheap read tells.
    if (!orphanDue && !stallDue && !(await store.getCompletion(open.requestId))) return null;
    invalidate(open.requestId);
    try {
      const state = stateFrom(open.requestId, await store.loadSnapshot(open.requestId));
      if (state.completion) {
        await publishCompletion(state, true);
        return 'recovered';
      }
      if (orphanDue && state.meta) {
        // RequestAccepted was applied but the open row was not updated (a crash between the
        // two writes): it is not an orphan.
        await saveOpen(state, { ...open, accepted: true, lastProgressAt: now });
        return null;
      }
      const images = await store.listImages(open.requestId);
      const reason = orphanDue
        ? `RequestAccepted never arrived within ${formatDuration(settings.orphanTimeoutMs)} of the first image result (${images.length} result(s) recorded)`
        : `No image finished for ${formatDuration(settings.stallTimeoutMs)}: ${images.length} of ${state.meta?.total ?? 0} images were final when the request was closed`;
      logger.warn({ requestId: open.requestId, reason }, 'closing request as FAILED');
      await complete(state, images, reason);
      return orphanDue ? 'closedOrphans' : 'closedStalled';
    } finally {
      invalidate(open.requestId);
    }
  }

  return {
    async apply(event, position) {
      const requestId = canonicalRequestId(event);
      if (position) observePosition(position);
      const outcome = await withLock(requestId, async () => {
        const entry = await entryFor(requestId, position?.partition ?? null);
        try {
          return event.name === 'RequestAccepted'
            ? await applyAccepted(entry, event.value)
            : await applyResult(entry, event);
        } catch (err) {
          // Never keep a state that may be ahead of (or behind) what was written.
          invalidate(requestId);
          throw err;
        }
      });
      metrics.event(event.name, outcome);
      return outcome;
    },

    async sweep() {
      const now = clock.now();
      const open = await store.listOpen();
      metrics.openRequests(open.length);
      const report: SweepReport = {
        open: open.length,
        closedOrphans: 0,
        closedStalled: 0,
        recovered: 0,
      };
      for (const o of open) {
        const due = o.accepted
          ? now - o.lastProgressAt >= Math.min(settings.recoveryGraceMs, settings.stallTimeoutMs)
          : now - o.openedAt >= Math.min(settings.recoveryGraceMs, settings.orphanTimeoutMs);
        if (!due) continue;
        try {
          const result = await withLock(o.requestId, () => sweepOne(o, now));
          if (result) report[result] += 1;
        } catch (err) {
          // One bad request must not stop the sweep of the others; the next sweep retries.
          logger.error({ err, requestId: o.requestId }, 'sweep of an open request failed');
        }
      }
      return report;
    },

    forgetAll() {
      for (const id of [...cache.keys()]) invalidate(id);
      lastOffsets.clear();
    },

    async flush() {
      await Promise.all(
        [...cache.values()].filter((e) => e.progressTimer).map((e) => flushProgress(e)),
      );
    },

    cachedRequests: () => cache.size,
  };
}
