import type { EventProducer } from '@imgpipe/platform';
import type { TopicSpec } from '@imgpipe/schemas';
import type { ResultPublisher } from '../domain/ports';

/**
 * Results go to requests.events keyed by requestId, so one request's events stay ordered on
 * one partition for the aggregator. Resolves once Kafka acknowledged (acks=-1).
 */
export function createResultPublisher(producer: EventProducer, topic: TopicSpec): ResultPublisher {
  return {
    publish: (result) =>
      producer.send(topic, [
        result.name === 'ImageCompressed'
          ? { name: result.name, value: result.value, key: result.value.requestId }
          : { name: result.name, value: result.value, key: result.value.requestId },
      ]),
  };
}
