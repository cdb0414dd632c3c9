/**
 * Hand-written in-memory fakes of the domain's ports, for unit tests (no engines). They keep
 * what a real store would keep and record what was published, so tests assert outcomes, and
 * `failNext` makes the next call of a method throw, to exercise recovery paths.
 */
import type { RequestCompleted } from '@imgpipe/schemas';
import type {
  CompletionRecord,
  ImageRecord,
  OpenRequest,
  ProgressUpdate,
  RequestMeta,
  TerminalUpdate,
} from '../domain/model';
import type {
  Clock,
  CompletionPublisher,
  DomainLogger,
  OutputStore,
  RequestSnapshot,
  RequestStore,
} from '../domain/ports';
import { imageKey } from '../domain/request-state';

export interface StoredRequestRow {
  meta: RequestMeta | null;
  progress: ProgressUpdate | null;
  terminal: TerminalUpdate | null;
}

type Method = keyof RequestStore;

export class InMemoryStore implements RequestStore {
  readonly requests = new Map<string, StoredRequestRow>();
  readonly images = new Map<string, Map<string, ImageRecord>>();
  readonly completions = new Map<string, CompletionRecord>();
  readonly open = new Map<string, OpenRequest>();
  readonly calls: Method[] = [];
  private readonly failures = new Map<Method, number>();

  /** The next `times` calls of `method` throw a transient error. */
  failNext(method: Method, times = 1): void {
    this.failures.set(method, times);
  }

  private hit(method: Method): void {
    this.calls.push(method);
    const left = this.failures.get(method) ?? 0;
    if (left > 0) {
      this.failures.set(method, left - 1);
      throw Object.assign(new Error(`injected ${method} failure`), { retriable: true });
    }
  }

  private row(requestId: string): StoredRequestRow {
    let row = this.requests.get(requestId);
    if (!row) {
      row = { meta: null, progress: null, terminal: null };
      this.requests.set(requestId, row);
    }
    return row;
  }

  loadSnapshot(requestId: string): Promise<RequestSnapshot> {
    this.hit('loadSnapshot');
    const finals = new Map(
      [...(this.images.get(requestId)?.values() ?? [])].map((i) => [
        imageKey(i.productIndex, i.imageIndex),
        { status: i.status, bytesIn: i.bytesIn ?? 0, bytesOut: i.bytesOut ?? 0 },
      ]),
    );
    const completion = this.completions.get(requestId);
    const open = this.open.get(requestId);
    const progress = this.requests.get(requestId)?.progress;
    return Promise.resolve({
      stored: progress
        ? {
            status: progress.status,
            compressed: progress.counts.compressed,
            failed: progress.counts.failed,
          }
        : null,
      meta: this.requests.get(requestId)?.meta ?? null,
      finals,
      completion: completion ? { ...completion } : null,
      open: open ? { ...open } : null,
    });
  }

  saveAccepted(meta: RequestMeta, progress: ProgressUpdate): Promise<void> {
    this.hit('saveAccepted');
    const row = this.row(meta.requestId);
    row.meta = { ...meta };
    row.progress = progress;
    return Promise.resolve();
  }

  saveImage(image: ImageRecord): Promise<void> {
    this.hit('saveImage');
    let rows = this.images.get(image.requestId);
    if (!rows) {
      rows = new Map();
      this.images.set(image.requestId, rows);
    }
    rows.set(imageKey(image.productIndex, image.imageIndex), { ...image });
    return Promise.resolve();
  }

  saveProgress(progress: ProgressUpdate): Promise<void> {
    this.hit('saveProgress');
    this.row(progress.requestId).progress = progress;
    return Promise.resolve();
  }

  listImages(requestId: string): Promise<ImageRecord[]> {
    this.hit('listImages');
    return Promise.resolve(
      [...(this.images.get(requestId)?.values() ?? [])]
        .map((i) => ({ ...i }))
        .sort((a, b) => a.productIndex - b.productIndex || a.imageIndex - b.imageIndex),
    );
  }

  recordCompletion(
    record: CompletionRecord,
  ): Promise<{ applied: boolean; record: CompletionRecord }> {
    this.hit('recordCompletion');
    const existing = this.completions.get(record.requestId);
    if (existing) return Promise.resolve({ applied: false, record: { ...existing } });
    this.completions.set(record.requestId, { ...record });
    return Promise.resolve({ applied: true, record: { ...record } });
  }

  getCompletion(requestId: string): Promise<CompletionRecord | null> {
    this.hit('getCompletion');
    const c = this.completions.get(requestId);
    return Promise.resolve(c ? { ...c } : null);
  }

  markPublished(requestId: string): Promise<void> {
    this.hit('markPublished');
    const c = this.completions.get(requestId);
    if (c) c.published = true;
    return Promise.resolve();
  }

  saveTerminal(update: TerminalUpdate): Promise<void> {
    this.hit('saveTerminal');
    this.row(update.requestId).terminal = update;
    return Promise.resolve();
  }

  getMeta(requestId: string): Promise<RequestMeta | null> {
    this.hit('getMeta');
    return Promise.resolve(this.requests.get(requestId)?.meta ?? null);
  }

  saveOpen(open: OpenRequest): Promise<void> {
    this.hit('saveOpen');
    this.open.set(open.requestId, { ...open });
    return Promise.resolve();
  }

  removeOpen(requestId: string): Promise<void> {
    this.hit('removeOpen');
    this.open.delete(requestId);
    return Promise.resolve();
  }

  listOpen(): Promise<OpenRequest[]> {
    this.hit('listOpen');
    return Promise.resolve([...this.open.values()].map((o) => ({ ...o })));
  }
}

export class InMemoryOutput implements OutputStore {
  readonly objects = new Map<string, Buffer>();
  putOutputCsv(key: string, body: Buffer): Promise<void> {
    this.objects.set(key, body);
    return Promise.resolve();
  }
}

export class RecordingPublisher implements CompletionPublisher {
  readonly published: RequestCompleted[] = [];
  failures = 0;
  publish(event: RequestCompleted): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('injected publish failure'));
    }
    this.published.push(structuredClone(event));
    return Promise.resolve();
  }
}

export class ManualClock implements Clock {
  constructor(public time = Date.UTC(2026, 0, 15, 10, 0, 0)) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export const quietLogger: DomainLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
