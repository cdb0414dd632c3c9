/**
 * The query API (issue 6, "Query API"), reached by users through ingest's edge:
 *   GET /status/:id, /api/status/:id          status, progress, webhook; ?include=images pages
 *   GET /requests/:id/output.csv, /api/download/:id   the output CSV (409 until done)
 *   GET /images/:id/:product/:image           a compressed image, streamed from S3
 * Reads only (Cassandra and S3), so any aggregator instance answers for any request.
 */
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import express from 'express';
import { isUuid, type ImageFormat, type InputSummary } from '@imgpipe/schemas';
import { isCassandraUnavailable, type Logger } from '@imgpipe/platform';
import type { ImageRecord } from '../domain/model';
import type { ImagePosition, ReadModel, RequestView, WebhookAttempt } from '../domain/ports';
import { outputCsvUrlFor, type PublicUrls } from '../domain/urls';
import { isS3Unavailable, type ObjectRead, type ObjectReader } from '../adapters/s3-objects';
import {
  imageNotFound,
  invalidImagePosition,
  invalidQuery,
  invalidRequestId,
  requestNotDone,
  requestNotFound,
  unavailable,
} from '../errors';

export interface QueryRouterDeps {
  readModel: ReadModel;
  objects: ObjectReader;
  urls: PublicUrls;
  logger: Logger;
}

export const DEFAULT_IMAGES_LIMIT = 100;
export const MAX_IMAGES_LIMIT = 1000;

const IMAGE_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function requestIdParam(req: Request): string {
  const raw = String(req.params.requestId);
  if (!isUuid(raw)) throw invalidRequestId(raw);
  return raw.toLowerCase();
}

function positionParam(req: Request, name: 'product' | 'image'): number {
  const raw = String(req.params[name]);
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw invalidImagePosition(name, raw);
  return Number(raw) - 1;
}

/** Opaque page cursor: the last (product, image) position returned. */
export const encodeCursor = (p: ImagePosition): string =>
  Buffer.from(`${p.productIndex}.${p.imageIndex}`, 'utf8').toString('base64url');

function decodeCursor(raw: string): ImagePosition {
  const text = Buffer.from(raw, 'base64url').toString('utf8');
  const match = /^(\d{1,9})\.(\d{1,9})$/.exec(text);
  if (
    !match ||
    encodeCursor({ productIndex: Number(match[1]), imageIndex: Number(match[2]) }) !== raw
  ) {
    throw invalidQuery('cursor', raw, 'a next_cursor value from a previous page');
  }
  return { productIndex: Number(match[1]), imageIndex: Number(match[2]) };
}

function singleQuery(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidQuery(name, JSON.stringify(value), 'given once');
  return value;
}

function progressOf(view: RequestView) {
  const final = view.compressed + view.failed;
  const pending = Math.max(0, view.total - final);
  const percent =
    view.total === 0 ? (view.done ? 100 : 0) : Math.floor((final * 1000) / view.total) / 10;
  return { total: view.total, compressed: view.compressed, failed: view.failed, pending, percent };
}

/**
 * The `webhook` block from the notifier's attempt log: the latest attempt's state and status
 * code, and how many attempts were made. No attempt yet → PENDING.
 */
function webhookOf(attempts: readonly WebhookAttempt[]) {
  if (attempts.length === 0) return { state: 'PENDING', attempts: 0, last_status_code: null };
  const sorted = [...attempts].sort((a, b) => a.attempt - b.attempt);
  const latest = sorted[sorted.length - 1]!;
  return {
    state: latest.state ?? 'PENDING',
    attempts: sorted.length,
    last_status_code: latest.statusCode,
  };
}

function imageJson(image: ImageRecord) {
  return {
    position: image.imageIndex + 1,
    input_url: image.inputUrl,
    output_url: image.status === 'COMPRESSED' ? image.outputUrl : null,
    status: image.status,
    failure_code: image.failureCode,
    failure_message: image.failureMessage,
    bytes_in: image.bytesIn,
    bytes_out: image.bytesOut,
    width: image.width,
    height: image.height,
    format: image.format,
  };
}

/** Groups one page of image rows by product (a product may continue on the next page). */
function productsJson(images: readonly ImageRecord[]) {
  const products: {
    position: number;
    serial_number: string;
    product_name: string;
    images: ReturnType<typeof imageJson>[];
  }[] = [];
  for (const image of images) {
    let product = products[products.length - 1];
    if (!product || product.position !== image.productIndex + 1) {
      product = {
        position: image.productIndex + 1,
        serial_number: image.serialNumber,
        product_name: image.productName,
        images: [],
      };
      products.push(product);
    }
    product.images.push(imageJson(image));
  }
  return products;
}

async function sendObject(
  res: Response,
  read: ObjectRead & { kind: 'found' },
  headers: Record<string, string>,
): Promise<void> {
  res.status(200);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (read.contentLength !== null) res.setHeader('Content-Length', String(read.contentLength));
  if (read.etag) res.setHeader('ETag', read.etag);
  if (read.lastModified) res.setHeader('Last-Modified', read.lastModified.toUTCString());
  try {
    await pipeline(read.body, res);
  } catch (err) {
    // The client went away or S3 broke mid-stream: headers are out, so just end the socket.
    res.destroy(err as Error);
  }
}

export const RETRY_AFTER_SECONDS = 5;

/**
 * Maps "Cassandra or S3 unavailable" to a 503 with Retry-After (the status of a request is not
 * unknown just because the database is down for a moment); everything else passes through.
 */
const guarded =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  async (req: Request, res: Response): Promise<void> => {
    try {
      await handler(req, res);
    } catch (err) {
      if (!res.headersSent && (isCassandraUnavailable(err) || isS3Unavailable(err))) {
        res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
        throw unavailable(isCassandraUnavailable(err) ? 'The read model' : 'Object storage', err);
      }
      throw err;
    }
  };

/** The view of an accepted request that the read model has not materialised yet. */
function pendingView(requestId: string, input: InputSummary | undefined): RequestView | null {
  if (!input) return null;
  return {
    requestId,
    status: 'PENDING',
    products: input.products,
    total: input.images,
    compressed: 0,
    failed: 0,
    bytesIn: 0,
    bytesOut: 0,
    hasWebhook: input.hasWebhook,
    options: input.options,
    failureReason: null,
    createdAt: input.acceptedAt,
    updatedAt: input.acceptedAt,
    completedAt: null,
    outputCsvKey: null,
    done: false,
  };
}

export function createQueryRouter(deps: QueryRouterDeps): express.Router {
  const { readModel, objects, urls } = deps;
  const router = express.Router();

  async function status(req: Request, res: Response): Promise<void> {
    const requestId = requestIdParam(req);
    const include = (singleQuery(req, 'include') ?? '').split(',').filter(Boolean);
    for (const part of include) {
      if (part !== 'images') throw invalidQuery('include', part, '"images"');
    }
    const withImages = include.includes('images');
    let limit = DEFAULT_IMAGES_LIMIT;
    let after: ImagePosition | null = null;
    if (withImages) {
      const rawLimit = singleQuery(req, 'limit');
      if (rawLimit !== undefined) {
        if (
          !/^\d{1,4}$/.test(rawLimit) ||
          Number(rawLimit) < 1 ||
          Number(rawLimit) > MAX_IMAGES_LIMIT
        ) {
          throw invalidQuery('limit', rawLimit, `an integer from 1 to ${MAX_IMAGES_LIMIT}`);
        }
        limit = Number(rawLimit);
      }
      const cursor = singleQuery(req, 'cursor');
      if (cursor !== undefined) after = decodeCursor(cursor);
    }

    const [known, attempts, page] = await Promise.all([
      readModel.getRequest(requestId),
      readModel.listWebhookAttempts(requestId),
      withImages ? readModel.listImagesPage(requestId, after, limit + 1) : Promise.resolve(null),
    ]);
    // Right after the 202 the request may exist only as ingest's input CSV (RequestAccepted is
    // a moment behind): answer PENDING from its metadata rather than 404 for an accepted request.
    const view = known ?? pendingView(requestId, await objects.describeInput(requestId));
    if (!view) throw requestNotFound(requestId);

    const body: Record<string, unknown> = {
      request_id: requestId,
      status: view.status,
      progress: progressOf(view),
      created_at: iso(view.createdAt),
      updated_at: iso(view.updatedAt),
      completed_at: iso(view.completedAt),
    };
    // The options echo the upload form's field names, so a looked-up request shows what it
    // was asked to do (the web page and `imgpipe status` print them).
    if (view.options) {
      body.options = {
        quality: view.options.quality,
        format: view.options.format,
        max_dimension: view.options.maxDimension,
      };
    }
    if (view.done) body.output_csv_url = outputCsvUrlFor(urls, requestId);
    if (view.failureReason) body.failure_reason = view.failureReason;
    if (view.hasWebhook) body.webhook = webhookOf(attempts);
    body.bytes_in = view.bytesIn;
    body.bytes_out = view.bytesOut;
    if (page) {
      const rows = page.slice(0, limit);
      const last = rows[rows.length - 1];
      body.products = productsJson(rows);
      body.images_page = {
        limit,
        next_cursor: page.length > limit && last ? encodeCursor(last) : null,
      };
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  }

  async function download(req: Request, res: Response): Promise<void> {
    const requestId = requestIdParam(req);
    const view = await readModel.getRequest(requestId);
    if (!view) throw requestNotFound(requestId);
    if (!view.done || !view.outputCsvKey) {
      throw requestNotDone(requestId, { status: view.status, progress: progressOf(view) });
    }
    const read = await objects.read(view.outputCsvKey, req.get('if-none-match'));
    if (read.kind === 'missing') {
      throw new Error(`output CSV ${view.outputCsvKey} of a completed request is missing`);
    }
    if (read.kind === 'not-modified') {
      if (read.etag) res.setHeader('ETag', read.etag);
      res.status(304).end();
      return;
    }
    await sendObject(res, read, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="imgpipe-${requestId}.csv"`,
      'Cache-Control': 'private, no-cache',
    });
  }

  async function image(req: Request, res: Response): Promise<void> {
    const requestId = requestIdParam(req);
    const position = {
      productIndex: positionParam(req, 'product'),
      imageIndex: positionParam(req, 'image'),
    };
    const where = {
      request_id: requestId,
      product: position.productIndex + 1,
      image: position.imageIndex + 1,
    };
    const row = await readModel.getImage(requestId, position);
    if (!row) {
      throw imageNotFound(
        `No image at product ${where.product}, image ${where.image} of request ${requestId} (unknown, or not finished yet)`,
        where,
      );
    }
    if (row.status !== 'COMPRESSED' || !row.outputKey) {
      throw imageNotFound(
        `Image ${where.image} of product ${where.product} failed (${row.failureCode ?? 'unknown'}): it has no output`,
        { ...where, status: row.status, failure_code: row.failureCode },
      );
    }
    const read = await objects.read(row.outputKey, req.get('if-none-match'));
    if (read.kind === 'missing') {
      throw imageNotFound(
        `The compressed image of product ${where.product}, image ${where.image} is gone`,
        where,
      );
    }
    // Deterministic key, but a reprocessed image may be rewritten: revalidate daily by ETag.
    const cacheControl = 'public, max-age=86400';
    if (read.kind === 'not-modified') {
      if (read.etag) res.setHeader('ETag', read.etag);
      res.setHeader('Cache-Control', cacheControl);
      res.status(304).end();
      return;
    }
    const stored = read.contentType?.startsWith('image/') ? read.contentType : null;
    await sendObject(res, read, {
      'Content-Type': stored ?? (row.format ? IMAGE_TYPES[row.format] : 'application/octet-stream'),
      'Cache-Control': cacheControl,
      'X-Content-Type-Options': 'nosniff',
    });
  }

  router.get(['/status/:requestId', '/api/status/:requestId'], guarded(status));
  router.get(['/requests/:requestId/output.csv', '/api/download/:requestId'], guarded(download));
  router.get('/images/:requestId/:product/:image', guarded(image));
  return router;
}
