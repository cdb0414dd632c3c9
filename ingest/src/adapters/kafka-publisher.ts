import type { Bus, EventProducer, Logger } from '@imgpipe/platform';
import type { EventPublisher } from '../domain/ports';

export interface KafkaPublisher extends EventPublisher {
  /** Connects the producer ahead of the first upload (failures are retried on first use). */
  warmUp(): Promise<void>;
}

/**
 * EventPublisher over the platform bus. The producer is connected lazily and a failed
 * connection is forgotten, so ingest starts (and serves the edge routes) while Kafka is down
 * and recovers by itself when Kafka returns; uploads meanwhile get 503.
 */
export function createKafkaPublisher(bus: Bus, logger: Logger): KafkaPublisher {
  let producer: Promise<EventProducer> | undefined;
  const get = (): Promise<EventProducer> => {
    if (producer === undefined) {
      const attempt = bus.producer();
      producer = attempt;
      attempt.catch((err: unknown) => {
        logger.warn({ err }, 'Kafka producer could not connect; will retry on the next upload');
        if (producer === attempt) producer = undefined;
      });
    }
    return producer;
  };
  return {
    async publish(topic, events) {
      const p = await get();
      await p.send(topic, events);
    },
    async warmUp() {
      await get();
    },
  };
}
