import { Counter, Gauge, Histogram, STAGE_BUCKETS_SECONDS, type Registry } from '@imgpipe/platform';
import type { DomainMetrics, EventOutcome } from '../domain/ports';
import type { QueryTimer } from './cassandra-store';

const OUTCOMES: readonly EventOutcome[] = ['applied', 'duplicate', 'orphan', 'late', 'ignored'];
const EVENT_TYPES = ['RequestAccepted', 'ImageCompressed', 'ImageFailed'];
const STATUSES = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

/** The aggregator's Prometheus metrics (no request ids in labels; series pre-initialised). */
export function aggregatorMetrics(registry: Registry): {
  domain: DomainMetrics;
  cassandra: QueryTimer;
} {
  const events = new Counter({
    name: 'imgpipe_aggregator_events_total',
    help: 'Request events applied, by event type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  for (const type of EVENT_TYPES) for (const outcome of OUTCOMES) events.inc({ type, outcome }, 0);
  const reloads = new Counter({
    name: 'imgpipe_aggregator_state_loads_total',
    help: 'Request states loaded from Cassandra, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const lwt = new Counter({
    name: 'imgpipe_completion_lwt_total',
    help: 'Completion latch writes (INSERT IF NOT EXISTS), by whether this one applied',
    labelNames: ['applied'] as const,
    registers: [registry],
  });
  lwt.inc({ applied: 'true' }, 0);
  lwt.inc({ applied: 'false' }, 0);
  const completed = new Counter({
    name: 'imgpipe_requests_completed_total',
    help: 'Requests completed, by final status',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of STATUSES) completed.inc({ status }, 0);
  const e2e = new Histogram({
    name: 'imgpipe_request_e2e_duration_seconds',
    help: 'From RequestAccepted to completion',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  const published = new Counter({
    name: 'imgpipe_completions_published_total',
    help: 'RequestCompleted events published, by whether this was a recovery re-publish',
    labelNames: ['recovered'] as const,
    registers: [registry],
  });
  const open = new Gauge({
    name: 'imgpipe_aggregator_open_requests',
    help: 'Requests seen but not completed, as of the last sweep',
    registers: [registry],
  });
  const queries = new Histogram({
    name: 'imgpipe_cassandra_query_duration_seconds',
    help: 'Cassandra statement duration by operation',
    labelNames: ['op'] as const,
    buckets: STAGE_BUCKETS_SECONDS,
    registers: [registry],
  });
  return {
    domain: {
      event: (type, outcome) => events.inc({ type, outcome }),
      stateLoaded: (reason) => reloads.inc({ reason }),
      completionRecorded: (applied) => lwt.inc({ applied: String(applied) }),
      requestCompleted: (status, seconds) => {
        completed.inc({ status });
        if (seconds !== null && seconds >= 0) e2e.observe(seconds);
      },
      completionPublished: (recovered) => published.inc({ recovered: String(recovered) }),
      openRequests: (count) => open.set(count),
    },
    cassandra: (op, seconds) => queries.observe({ op }, seconds),
  };
}
