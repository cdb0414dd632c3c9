/**
 * Hand-written in-memory fakes of the domain's ports, for unit tests (../shared/STYLE.md,
 * "Tests"). They record what the service did so tests can assert what a user would observe.
 */
import type { OutgoingEvent } from '@imgpipe/platform';
import type { TopicSpec } from '@imgpipe/schemas';
import type {
  AcceptedBody,
  ClaimResult,
  EventPublisher,
  IdempotencyRecord,
  IdempotencyStore,
  InputStore,
  InputSummary,
  UploadedFile,
} from '../domain/ports';

export interface PublishedEvent {
  topic: string;
  name: string;
  key: string;
  value: Record<string, unknown>;
}

export class FakePublisher implements EventPublisher {
  readonly calls: { topic: string; events: readonly OutgoingEvent[] }[] = [];
  /** Return an error to make that call fail (0-based call number, topic name). */
  failWhen: (call: number, topic: string) => Error | undefined = () => undefined;
  private callNo = 0;

  publish(topic: TopicSpec, events: readonly OutgoingEvent[]): Promise<void> {
    const err = this.failWhen(this.callNo, topic.name);
    this.callNo += 1;
    if (err !== undefined) return Promise.reject(err);
    this.calls.push({ topic: topic.name, events: [...events] });
    return Promise.resolve();
  }

  /** Every acknowledged event, in publish order. */
  events(): PublishedEvent[] {
    return this.calls.flatMap((c) =>
      c.events.map((e) => ({
        topic: c.topic,
        name: e.name,
        key: e.key,
        value: e.value as unknown as Record<string, unknown>,
      })),
    );
  }
}

export class MemoryInputStore implements InputStore {
  readonly objects = new Map<string, Buffer>();
  readonly summaries = new Map<string, InputSummary>();
  failSave: Error | undefined;
  failRemove: Error | undefined;

  async save(key: string, file: UploadedFile, summary: InputSummary): Promise<void> {
    if (this.failSave) throw this.failSave;
    const chunks: Buffer[] = [];
    for await (const chunk of file.open()) chunks.push(chunk as Buffer);
    this.objects.set(key, Buffer.concat(chunks));
    this.summaries.set(key, summary);
  }

  remove(key: string): Promise<void> {
    if (this.failRemove) return Promise.reject(this.failRemove);
    this.objects.delete(key);
    this.summaries.delete(key);
    return Promise.resolve();
  }
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  failClaim: Error | undefined;

  claim(record: Omit<IdempotencyRecord, 'state' | 'response'>): Promise<ClaimResult> {
    if (this.failClaim) return Promise.reject(this.failClaim);
    const existing = this.records.get(record.key);
    if (existing !== undefined) return Promise.resolve({ claimed: false, existing });
    this.records.set(record.key, { ...record, state: 'IN_PROGRESS', response: null });
    return Promise.resolve({ claimed: true });
  }

  complete(record: Omit<IdempotencyRecord, 'state'> & { response: AcceptedBody }): Promise<void> {
    if (this.records.get(record.key)?.requestId === record.requestId) {
      this.records.set(record.key, { ...record, state: 'ACCEPTED' });
    }
    return Promise.resolve();
  }

  release(key: string, requestId: string): Promise<void> {
    if (this.records.get(key)?.requestId === requestId) this.records.delete(key);
    return Promise.resolve();
  }
}
