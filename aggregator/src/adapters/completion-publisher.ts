import type { EventProducer } from '@imgpipe/platform';
import type { TopicSpec } from '@imgpipe/schemas';
import type { CompletionPublisher } from '../domain/ports';

/**
 * RequestCompleted onto requests.completed, keyed by request id (one request's completions
 * stay ordered on one partition). Resolves when the broker acknowledged it (acks=-1).
 */
export function createCompletionPublisher(
  producer: () => Promise<EventProducer>,
  topic: TopicSpec,
): CompletionPublisher {
  return {
    async publish(event) {
      await (
        await producer()
      ).send(topic, [{ name: 'RequestCompleted', value: event, key: event.requestId }]);
    },
  };
}
