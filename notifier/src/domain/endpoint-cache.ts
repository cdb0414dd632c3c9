import type { Clock, EndpointRepository, WebhookEndpoint } from './ports';

/** Read side of the registered endpoints, as the delivery path needs it. */
export interface EndpointDirectory {
  /** Enabled endpoints (cached for a short time: every completion asks). */
  enabled(): Promise<WebhookEndpoint[]>;
  /** One endpoint, read fresh (secret rotations and deletes apply to the next attempt). */
  get(id: string): Promise<WebhookEndpoint | undefined>;
  disable(id: string, reason: string, now: Date): Promise<void>;
  /** Forget the cached list (after a change made through this process). */
  invalidate(): void;
}

/**
 * Every completion fans out to every enabled endpoint, so the list is read once per `ttlMs`
 * rather than per message. Changes made through this process's API invalidate it at once;
 * other replicas see them within `ttlMs`.
 */
export function createEndpointDirectory(
  repository: EndpointRepository,
  clock: Clock,
  ttlMs = 2_000,
): EndpointDirectory {
  let cached: { at: number; list: Promise<WebhookEndpoint[]> } | undefined;
  return {
    enabled() {
      const now = clock.now();
      if (cached === undefined || now - cached.at >= ttlMs) {
        const list = repository.list().then((all) => all.filter((e) => !e.disabled));
        cached = { at: now, list };
        // A failed read must not be served from the cache until the TTL runs out.
        list.catch(() => {
          if (cached?.list === list) cached = undefined;
        });
      }
      return cached.list;
    },
    get: (id) => repository.get(id),
    async disable(id, reason, now) {
      await repository.disable(id, reason, now);
      cached = undefined;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
