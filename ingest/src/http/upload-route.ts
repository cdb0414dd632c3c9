import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  Counter,
  Histogram,
  STAGE_BUCKETS_SECONDS,
  errorBody,
  type Logger,
  type Registry,
} from '@imgpipe/platform';
import type { UploadAcceptor } from '../domain/accept-upload';
import { UnavailableError, UploadError } from '../domain/errors';
import { parseFormFields, parseIdempotencyKey } from '../domain/form-fields';
import type { UploadLimits } from '../domain/limits';
import { receiveUpload, type ReceivedUpload } from './multipart';

export interface UploadRouteDeps {
  acceptor: UploadAcceptor;
  limits: UploadLimits;
  spoolDir: string;
  logger: Logger;
  registry: Registry;
}

type Outcome = 'accepted' | 'replayed' | 'rejected' | 'unavailable' | 'error';

function uploadMetrics(registry: Registry) {
  const uploads = new Counter({
    name: 'imgpipe_uploads_total',
    help: 'CSV uploads by outcome (accepted, replayed, rejected, unavailable, error)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'imgpipe_upload_rejections_total',
    help: 'Uploads answered with a 4xx or 503, by error code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const rows = new Counter({
    name: 'imgpipe_upload_rows_total',
    help: 'Product rows in accepted uploads',
    registers: [registry],
  });
  const images = new Counter({
    name: 'imgpipe_upload_images_total',
    help: 'Images queued by accepted uploads',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'imgpipe_upload_duration_seconds',
    help: 'Time from the start of an upload to its answer, by outcome',
    labelNames: ['outcome'] as const,
    buckets: STAGE_BUCKETS_SECONDS,
    registers: [registry],
  });
  for (const outcome of ['accepted', 'replayed', 'rejected', 'unavailable', 'error'] as const) {
    uploads.inc({ outcome }, 0);
  }
  return { uploads, rejections, rows, images, duration };
}

/**
 * POST /upload: multipart in, whole-file validation, then the accept path; 202 with the
 * request id, or the shared error shape with a stable code (and Retry-After on 503).
 */
export function uploadHandler(deps: UploadRouteDeps): RequestHandler {
  const metrics = uploadMetrics(deps.registry);

  const finish = (outcome: Outcome, started: bigint) => {
    metrics.uploads.inc({ outcome });
    metrics.duration.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    let received: ReceivedUpload | undefined;
    const handle = async () => {
      let send: () => void;
      try {
        received = await receiveUpload(req, { limits: deps.limits, spoolDir: deps.spoolDir });
        // Cheap problems first: a bad form field is reported before the CSV's rows.
        const options = parseFormFields(received.fields);
        const idempotencyKey = parseIdempotencyKey(req.headers['idempotency-key']);
        const { csv } = received;
        if (!csv.ok) throw csv.error;
        const result = await deps.acceptor.accept({
          file: received.file,
          products: csv.products,
          images: csv.images,
          options,
          idempotencyKey,
        });
        if (!result.replayed) {
          metrics.rows.inc(result.body.products);
          metrics.images.inc(result.body.images);
        }
        send = () => {
          if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
          res.status(202).location(result.body.status_url).json(result.body);
          finish(result.replayed ? 'replayed' : 'accepted', started);
        };
      } catch (err) {
        if (!(err instanceof UploadError || err instanceof UnavailableError)) {
          finish('error', started);
          await received?.dispose();
          throw err;
        }
        const status = err.httpStatus ?? 400;
        metrics.rejections.inc({ code: err.code });
        send = () => {
          // A body that was not read to the end cannot be followed by another request on the
          // same connection.
          if (!req.complete) res.setHeader('Connection', 'close');
          if (err.retryAfterSeconds !== undefined) {
            res.setHeader('Retry-After', String(err.retryAfterSeconds));
          }
          res.status(status).json(errorBody(err.code, err.message, err.details));
          finish(status === 503 ? 'unavailable' : 'rejected', started);
        };
      }
      // The spooled copy goes before the answer: nothing of an upload outlives its request.
      await received?.dispose();
      send();
    };
    handle().catch(next);
  };
}
