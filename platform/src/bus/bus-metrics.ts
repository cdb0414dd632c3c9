import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { STAGE_BUCKETS_SECONDS } from '../metrics';

/** How a consumed message ended, as the `outcome` label of the consumed counter. */
export type ConsumedOutcome =
  | 'done'
  /** Sent to a delay tier, or held for an in-place redelivery (consumers without a RetryPolicy). */
  | 'retry'
  /** The handler threw: handled like `retry`. */
  | 'error'
  /** `fail`: dead-lettered. */
  | 'fail'
  /** `retry`/throw on the last attempt: dead-lettered. */
  | 'exhausted'
  /** Undecodable: dead-lettered without reaching the handler. */
  | 'poison';

export const CONSUMED_OUTCOMES: readonly ConsumedOutcome[] = [
  'done',
  'retry',
  'error',
  'fail',
  'exhausted',
  'poison',
];

export interface BusMetrics {
  consumed: Counter<'topic' | 'outcome'>;
  produced: Counter<'topic'>;
  handlerDuration: Histogram<'topic'>;
  lag: Gauge<'topic' | 'partition'>;
  rebalances: Counter;
  deadLetters: Counter<'topic'>;
}

/**
 * Bus metrics on the process registry. Several buses (or tests) may share one registry, so an
 * already registered metric is reused instead of registered twice (prom-client throws then).
 */
export function busMetrics(registry: Registry): BusMetrics {
  const get = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    consumed: get(
      'imgpipe_bus_messages_consumed_total',
      () =>
        new Counter({
          name: 'imgpipe_bus_messages_consumed_total',
          help: 'Messages consumed, by topic read (delay tiers included) and outcome',
          labelNames: ['topic', 'outcome'],
          registers,
        }),
    ),
    produced: get(
      'imgpipe_bus_messages_produced_total',
      () =>
        new Counter({
          name: 'imgpipe_bus_messages_produced_total',
          help: 'Messages acknowledged by the brokers (acks=-1), by topic',
          labelNames: ['topic'],
          registers,
        }),
    ),
    handlerDuration: get(
      'imgpipe_bus_handler_duration_seconds',
      () =>
        new Histogram({
          name: 'imgpipe_bus_handler_duration_seconds',
          help: 'Time spent in message handlers, by topic read',
          labelNames: ['topic'],
          buckets: STAGE_BUCKETS_SECONDS,
          registers,
        }),
    ),
    lag: get(
      'imgpipe_bus_consumer_lag_messages',
      () =>
        new Gauge({
          name: 'imgpipe_bus_consumer_lag_messages',
          help: 'Messages behind the high watermark after the last batch, by topic and partition',
          labelNames: ['topic', 'partition'],
          registers,
        }),
    ),
    rebalances: get(
      'imgpipe_bus_rebalances_total',
      () =>
        new Counter({
          name: 'imgpipe_bus_rebalances_total',
          help: 'Group re-joins after the first join (rebalances seen by this process)',
          registers,
        }),
    ),
    deadLetters: get(
      'imgpipe_bus_dead_letters_total',
      () =>
        new Counter({
          name: 'imgpipe_bus_dead_letters_total',
          help: 'Messages sent to a dead-letter topic, by the topic they were first published to',
          labelNames: ['topic'],
          registers,
        }),
    ),
  };
}
