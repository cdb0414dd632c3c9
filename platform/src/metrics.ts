import { Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per process, with Node's default metrics (event loop lag, heap, GC) and a
 * `service` default label. Metric names follow `imgpipe_<thing>_<unit>[_total]` in base units.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'imgpipe_' });
  return registry;
}

/** Buckets (seconds) for pipeline stages: download, compress, upload, handler duration. */
export const STAGE_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60,
];
/** Buckets (seconds) for HTTP request latency. */
export const HTTP_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
