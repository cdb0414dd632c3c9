import { Counter, Gauge, Histogram, STAGE_BUCKETS_SECONDS, type Registry } from '@imgpipe/platform';
import { FAILURE_CODES } from '@imgpipe/schemas';
import type { Outcome, PipelineObserver, Stage } from '../domain/ports';

/**
 * The processor's metrics (issue 5, "Running"), in base units, labels from closed sets only
 * (outcome, failure code, stage) — never request ids or URLs.
 */
export function createProcessorMetrics(registry: Registry): PipelineObserver {
  const processed = new Counter({
    name: 'imgpipe_images_processed_total',
    help: 'Image deliveries handled, by outcome (compressed, failed, retried) and failure code',
    labelNames: ['outcome', 'failure_code'] as const,
    registers: [registry],
  });
  const keptOriginal = new Counter({
    name: 'imgpipe_images_kept_original_total',
    help: 'Images stored as the original bytes because compression did not make them smaller',
    registers: [registry],
  });
  const bytesIn = new Counter({
    name: 'imgpipe_image_input_bytes_total',
    help: 'Bytes downloaded for images that were stored',
    registers: [registry],
  });
  const bytesOut = new Counter({
    name: 'imgpipe_image_output_bytes_total',
    help: 'Bytes stored for output images',
    registers: [registry],
  });
  const stages = new Histogram({
    name: 'imgpipe_image_stage_duration_seconds',
    help: 'Time per image stage (download, compress, upload)',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS_SECONDS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'imgpipe_images_in_flight',
    help: 'Images being processed right now',
    registers: [registry],
  });

  // Series exist at 0 from the start, so rates and alerts work before the first failure.
  processed.inc({ outcome: 'compressed', failure_code: 'none' }, 0);
  for (const code of FAILURE_CODES) processed.inc({ outcome: 'failed', failure_code: code }, 0);
  for (const stage of ['download', 'compress', 'upload'] as const) stages.zero({ stage });

  return {
    stage: (stage: Stage, seconds: number) => stages.observe({ stage }, seconds),
    bytes: (input: number, output: number) => {
      bytesIn.inc(input);
      bytesOut.inc(output);
    },
    outcome: (outcome: Outcome, failureCode: string | null, kept?: boolean) => {
      processed.inc({ outcome, failure_code: failureCode ?? 'none' });
      if (kept) keptOriginal.inc();
    },
    inFlight: (delta: 1 | -1) => inFlight.inc(delta),
  };
}
