/**
 * The read model on Cassandra (tables in schemas/cql 0001 and 0003). Every statement is
 * prepared. Upserts write absolute values and are marked idempotent, so the driver may retry
 * them on a timeout and a redelivered event writes the same thing again. The only
 * lightweight transactions are the completion latch (`INSERT … IF NOT EXISTS`) and its
 * `published` flag (`UPDATE … IF EXISTS`), so LWT and plain writes never mix on those cells.
 * Missing values are bound as unset, not null: a null would write a tombstone per empty cell.
 */
import type { CassandraClient } from '@imgpipe/platform';
import { cassandraTypes } from '@imgpipe/platform';
import type { CompressionOptions, FailureCode, ImageFormat } from '@imgpipe/schemas';
import type {
  CompletionRecord,
  FinalMark,
  ImageRecord,
  OpenRequest,
  ProgressUpdate,
  RequestMeta,
  TerminalStatus,
  TerminalUpdate,
} from '../domain/model';
import type {
  ImagePosition,
  ReadModel,
  RequestSnapshot,
  RequestStore,
  RequestView,
  WebhookAttempt,
} from '../domain/ports';
import { imageKey } from '../domain/request-state';

type Row = cassandraTypes.Row;

/** Buckets of aggregator_open_requests. Fixed forever: rows are found by recomputing it. */
export const OPEN_BUCKETS = 32;

export const openBucketOf = (requestId: string): number =>
  Number.parseInt(requestId.replace(/-/g, '').slice(-6), 16) % OPEN_BUCKETS;

const IDEMPOTENT = { prepare: true, isIdempotent: true } as const;
const LWT = {
  prepare: true,
  // The latch is the only Paxos write per request; LOCAL_SERIAL keeps it in the local DC.
  serialConsistency: cassandraTypes.consistencies.localSerial,
} as const;
const PAGE = 5000;

const SELECT_REQUEST = `SELECT request_id, status, products, total_images, compressed_images,
  failed_images, bytes_in, bytes_out, options, input_csv_key, output_csv_key, webhook_url,
  webhook_secret, email, failure_reason, created_at, updated_at, completed_at
  FROM requests WHERE request_id = ?`;
const SELECT_FINALS = `SELECT product_index, image_index, status, bytes_in, bytes_out
  FROM images_by_request WHERE request_id = ?`;
const IMAGE_COLUMNS = `request_id, product_index, image_index, serial_number, product_name,
  input_url, output_key, output_url, status, failure_code, failure_message, http_status,
  bytes_in, bytes_out, width, height, format, kept_original, attempts, updated_at`;
const SELECT_IMAGES = `SELECT ${IMAGE_COLUMNS} FROM images_by_request WHERE request_id = ?`;
const SELECT_IMAGES_AFTER = `SELECT ${IMAGE_COLUMNS} FROM images_by_request
  WHERE request_id = ? AND (product_index, image_index) > (?, ?) LIMIT ?`;
const SELECT_IMAGES_FIRST = `SELECT ${IMAGE_COLUMNS} FROM images_by_request
  WHERE request_id = ? LIMIT ?`;
const SELECT_IMAGE = `SELECT ${IMAGE_COLUMNS} FROM images_by_request
  WHERE request_id = ? AND product_index = ? AND image_index = ?`;
const INSERT_IMAGE = `INSERT INTO images_by_request (${IMAGE_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const COMPLETION_COLUMNS = `request_id, completion_id, status, output_csv_key, published,
  completed_at, created_at, total, compressed, failed, bytes_in, bytes_out, failure_reason`;
const SELECT_COMPLETION = `SELECT ${COMPLETION_COLUMNS} FROM request_completions WHERE request_id = ?`;
const INSERT_COMPLETION = `INSERT INTO request_completions (${COMPLETION_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`;
const MARK_PUBLISHED = `UPDATE request_completions SET published = true
  WHERE request_id = ? IF EXISTS`;
const INSERT_ACCEPTED = `INSERT INTO requests (request_id, products, total_images, options,
  input_csv_key, webhook_url, webhook_secret, email, created_at, status, compressed_images,
  failed_images, bytes_in, bytes_out, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const UPDATE_PROGRESS = `UPDATE requests SET status = ?, compressed_images = ?,
  failed_images = ?, bytes_in = ?, bytes_out = ?, updated_at = ? WHERE request_id = ?`;
const UPDATE_TERMINAL = `UPDATE requests SET status = ?, products = ?, total_images = ?,
  compressed_images = ?, failed_images = ?, bytes_in = ?, bytes_out = ?, output_csv_key = ?,
  failure_reason = ?, completed_at = ?, updated_at = ? WHERE request_id = ?`;
const OPEN_COLUMNS = 'request_id, accepted, opened_at, last_progress_at';
const SELECT_OPEN = `SELECT ${OPEN_COLUMNS} FROM aggregator_open_requests
  WHERE bucket = ? AND request_id = ?`;
const SELECT_OPEN_BUCKET = `SELECT ${OPEN_COLUMNS} FROM aggregator_open_requests WHERE bucket = ?`;
const INSERT_OPEN = `INSERT INTO aggregator_open_requests
  (bucket, request_id, accepted, opened_at, last_progress_at) VALUES (?, ?, ?, ?, ?)`;
const DELETE_OPEN = `DELETE FROM aggregator_open_requests WHERE bucket = ? AND request_id = ?`;
const SELECT_WEBHOOK = `SELECT attempt, state, status_code, attempted_at FROM webhook_deliveries
  WHERE request_id = ? AND target = 'request'`;

/** null → unset (no tombstone); everything else as is. */
const v = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

const num = (value: unknown): number | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (value instanceof cassandraTypes.Long) return value.toNumber();
  return Number(value);
};
/** text columns, and uuid columns (driver Uuid objects print as the canonical form). */
const str = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : (value as { toString(): string }).toString();
};
const ms = (value: unknown): number | null => (value instanceof Date ? value.getTime() : null);
const date = (value: number | null): Date | undefined =>
  value === null ? undefined : new Date(value);
const long = (value: number): InstanceType<typeof cassandraTypes.Long> =>
  cassandraTypes.Long.fromNumber(value);

function metaOf(row: Row): RequestMeta | null {
  const total = num(row.get('total_images'));
  const createdAt = ms(row.get('created_at'));
  // A row written only by the terminal update of an orphan has no RequestAccepted fields.
  const inputCsvKey = str(row.get('input_csv_key'));
  if (total === null || createdAt === null || inputCsvKey === null) return null;
  const optionsText = str(row.get('options'));
  return {
    requestId: str(row.get('request_id'))!,
    products: num(row.get('products')) ?? 0,
    total,
    options: optionsText
      ? (JSON.parse(optionsText) as CompressionOptions)
      : { quality: 50, format: 'keep', maxDimension: null },
    inputCsvKey,
    webhookUrl: str(row.get('webhook_url')),
    webhookSecret: str(row.get('webhook_secret')),
    email: str(row.get('email')),
    createdAt,
  };
}

function completionOf(row: Row): CompletionRecord {
  return {
    requestId: str(row.get('request_id'))!,
    completionId: str(row.get('completion_id'))!,
    status: str(row.get('status')) as TerminalStatus,
    outputCsvKey: str(row.get('output_csv_key'))!,
    published: row.get('published') === true,
    completedAt: ms(row.get('completed_at')) ?? 0,
    createdAt: ms(row.get('created_at')),
    total: num(row.get('total')) ?? 0,
    compressed: num(row.get('compressed')) ?? 0,
    failed: num(row.get('failed')) ?? 0,
    bytesIn: num(row.get('bytes_in')) ?? 0,
    bytesOut: num(row.get('bytes_out')) ?? 0,
    failureReason: str(row.get('failure_reason')),
  };
}

function imageOf(row: Row): ImageRecord {
  return {
    requestId: str(row.get('request_id'))!,
    productIndex: num(row.get('product_index')) ?? 0,
    imageIndex: num(row.get('image_index')) ?? 0,
    serialNumber: str(row.get('serial_number')) ?? '',
    productName: str(row.get('product_name')) ?? '',
    inputUrl: str(row.get('input_url')) ?? '',
    status: str(row.get('status')) as ImageRecord['status'],
    outputKey: str(row.get('output_key')),
    outputUrl: str(row.get('output_url')),
    failureCode: str(row.get('failure_code')) as FailureCode | null,
    failureMessage: str(row.get('failure_message')),
    httpStatus: num(row.get('http_status')),
    bytesIn: num(row.get('bytes_in')),
    bytesOut: num(row.get('bytes_out')),
    width: num(row.get('width')),
    height: num(row.get('height')),
    format: str(row.get('format')) as ImageFormat | null,
    keptOriginal: (row.get('kept_original') as boolean | null) ?? null,
    attempts: num(row.get('attempts')) ?? 0,
    updatedAt: ms(row.get('updated_at')) ?? 0,
  };
}

const openOf = (row: Row): OpenRequest => ({
  requestId: str(row.get('request_id'))!,
  accepted: row.get('accepted') === true,
  openedAt: ms(row.get('opened_at')) ?? 0,
  lastProgressAt: ms(row.get('last_progress_at')) ?? 0,
});

export interface QueryTimer {
  /** Called with each query's operation name and duration in seconds. */
  (op: string, seconds: number): void;
}

/**
 * Group commit limits: below Cassandra's default warning thresholds for unlogged batches
 * (more than 10 partitions; more than 5 KiB), so grouping never makes the server complain.
 */
const GROUP_MAX_STATEMENTS = 8;
const GROUP_MAX_BYTES = 4 * 1024;

interface PendingUpsert {
  query: string;
  params: unknown[];
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const approximateBytes = (params: readonly unknown[]): number =>
  params.reduce<number>((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : 8), 16);

/**
 * Group commit for idempotent single-row upserts. The partitions' handlers run concurrently
 * and their writes tend to be issued in the same event-loop turn; those are sent together as
 * one unlogged batch (a handful of rows of different requests) instead of one request each,
 * which costs the driver, the socket and Cassandra's native transport a fraction per row.
 * Each caller still resolves only when its row is written; a failed group fails all of its
 * callers, whose events are then applied again (every statement here is idempotent).
 */
function createGroupCommit(client: CassandraClient, timer: QueryTimer) {
  let queue: PendingUpsert[] = [];
  let scheduled = false;

  const send = (group: PendingUpsert[]): void => {
    const t0 = process.hrtime.bigint();
    const done =
      group.length === 1
        ? client.execute(group[0]!.query, group[0]!.params, IDEMPOTENT)
        : client.batch(
            group.map((u) => ({ query: u.query, params: u.params })),
            { prepare: true, logged: false, isIdempotent: true },
          );
    done.then(
      () => {
        timer(
          group.length === 1 ? 'upsert' : 'upsert_group',
          Number(process.hrtime.bigint() - t0) / 1e9,
        );
        for (const u of group) u.resolve();
      },
      (err: unknown) => {
        for (const u of group) u.reject(err);
      },
    );
  };

  const flush = (): void => {
    scheduled = false;
    const work = queue;
    queue = [];
    let group: PendingUpsert[] = [];
    let bytes = 0;
    for (const u of work) {
      if (
        group.length > 0 &&
        (group.length >= GROUP_MAX_STATEMENTS || bytes + u.bytes > GROUP_MAX_BYTES)
      ) {
        send(group);
        group = [];
        bytes = 0;
      }
      group.push(u);
      bytes += u.bytes;
    }
    if (group.length > 0) send(group);
  };

  // No timer window: whatever was issued before the next turn of the event loop goes
  // together. Under load more accumulates per turn (bigger groups, less CPU per row); when
  // idle a write waits for nothing.
  return (query: string, params: unknown[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      queue.push({ query, params, bytes: approximateBytes(params), resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/**
 * Builds the Cassandra adapter: the write side the materializer uses and the read side the
 * HTTP API uses, on one client (prepared statements are cached per client).
 */
export function createCassandraStore(
  client: CassandraClient,
  timer: QueryTimer = () => undefined,
): RequestStore & ReadModel {
  async function run(op: string, query: string, params: unknown[], options: object = IDEMPOTENT) {
    const t0 = process.hrtime.bigint();
    try {
      return await client.execute(query, params, options);
    } finally {
      timer(op, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  const upsert = createGroupCommit(client, timer);

  /** Every row of a partition, page by page (large requests span many pages). */
  async function all(op: string, query: string, params: unknown[]): Promise<Row[]> {
    const rows: Row[] = [];
    let pageState: string | undefined;
    do {
      const t0 = process.hrtime.bigint();
      const result = await client.execute(query, params, {
        ...IDEMPOTENT,
        fetchSize: PAGE,
        ...(pageState === undefined ? {} : { pageState }),
      });
      timer(op, Number(process.hrtime.bigint() - t0) / 1e9);
      rows.push(...result.rows);
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return rows;
  }

  const getCompletion = async (requestId: string): Promise<CompletionRecord | null> => {
    const row = (await run('select_completion', SELECT_COMPLETION, [requestId])).first();
    return row ? completionOf(row) : null;
  };

  return {
    async loadSnapshot(requestId) {
      const [requestRow, finalRows, completion, openRow] = await Promise.all([
        run('select_request', SELECT_REQUEST, [requestId]).then((r) => r.first()),
        all('select_finals', SELECT_FINALS, [requestId]),
        getCompletion(requestId),
        run('select_open', SELECT_OPEN, [openBucketOf(requestId), requestId]).then((r) =>
          r.first(),
        ),
      ]);
      const finals = new Map<string, FinalMark>();
      for (const row of finalRows) {
        const status = row.get('status') as string;
        if (status !== 'COMPRESSED' && status !== 'FAILED') continue;
        finals.set(imageKey(num(row.get('product_index'))!, num(row.get('image_index'))!), {
          status,
          bytesIn: num(row.get('bytes_in')) ?? 0,
          bytesOut: num(row.get('bytes_out')) ?? 0,
        });
      }
      const snapshot: RequestSnapshot = {
        meta: requestRow ? metaOf(requestRow) : null,
        finals,
        completion,
        open: openRow ? openOf(openRow) : null,
        stored: requestRow
          ? {
              status: str(requestRow.get('status')),
              compressed: num(requestRow.get('compressed_images')) ?? 0,
              failed: num(requestRow.get('failed_images')) ?? 0,
            }
          : null,
      };
      return snapshot;
    },

    async saveAccepted(meta, progress) {
      await run('insert_request', INSERT_ACCEPTED, [
        meta.requestId,
        meta.products,
        meta.total,
        JSON.stringify(meta.options),
        meta.inputCsvKey,
        v(meta.webhookUrl),
        v(meta.webhookSecret),
        v(meta.email),
        new Date(meta.createdAt),
        progress.status,
        progress.counts.compressed,
        progress.counts.failed,
        long(progress.counts.bytesIn),
        long(progress.counts.bytesOut),
        new Date(progress.updatedAt),
      ]);
    },

    async saveImage(i) {
      await upsert(INSERT_IMAGE, [
        i.requestId,
        i.productIndex,
        i.imageIndex,
        i.serialNumber,
        i.productName,
        i.inputUrl,
        v(i.outputKey),
        v(i.outputUrl),
        i.status,
        v(i.failureCode),
        v(i.failureMessage),
        v(i.httpStatus),
        i.bytesIn === null ? undefined : long(i.bytesIn),
        i.bytesOut === null ? undefined : long(i.bytesOut),
        v(i.width),
        v(i.height),
        v(i.format),
        v(i.keptOriginal),
        i.attempts,
        new Date(i.updatedAt),
      ]);
    },

    async saveProgress(p: ProgressUpdate) {
      await upsert(UPDATE_PROGRESS, [
        p.status,
        p.counts.compressed,
        p.counts.failed,
        long(p.counts.bytesIn),
        long(p.counts.bytesOut),
        new Date(p.updatedAt),
        p.requestId,
      ]);
    },

    async listImages(requestId) {
      return (await all('select_images', SELECT_IMAGES, [requestId])).map(imageOf);
    },

    async recordCompletion(c) {
      const result = await run(
        'insert_completion',
        INSERT_COMPLETION,
        [
          c.requestId,
          c.completionId,
          c.status,
          c.outputCsvKey,
          c.published,
          new Date(c.completedAt),
          date(c.createdAt),
          c.total,
          c.compressed,
          c.failed,
          long(c.bytesIn),
          long(c.bytesOut),
          v(c.failureReason),
        ],
        LWT,
      );
      if (result.wasApplied()) return { applied: true, record: c };
      // Not applied: the response carries the existing row. (After a driver retry of our own
      // attempt this may be our own record — it is the same id either way.)
      const row = result.first();
      const existing = row?.get('completion_id')
        ? completionOf(row)
        : await getCompletion(c.requestId);
      if (!existing) throw new Error(`completion of ${c.requestId} not applied and not found`);
      return { applied: false, record: existing };
    },

    getCompletion,

    async markPublished(requestId) {
      await run('mark_published', MARK_PUBLISHED, [requestId], LWT);
    },

    async saveTerminal(u: TerminalUpdate) {
      const c = u.completion;
      await run('update_terminal', UPDATE_TERMINAL, [
        c.status,
        u.products,
        c.total,
        c.compressed,
        c.failed,
        long(c.bytesIn),
        long(c.bytesOut),
        c.outputCsvKey,
        v(c.failureReason),
        new Date(c.completedAt),
        new Date(u.updatedAt),
        u.requestId,
      ]);
    },

    async getMeta(requestId) {
      const row = (await run('select_request', SELECT_REQUEST, [requestId])).first();
      return row ? metaOf(row) : null;
    },

    async saveOpen(o) {
      await upsert(INSERT_OPEN, [
        openBucketOf(o.requestId),
        o.requestId,
        o.accepted,
        new Date(o.openedAt),
        new Date(o.lastProgressAt),
      ]);
    },

    async removeOpen(requestId) {
      await run('delete_open', DELETE_OPEN, [openBucketOf(requestId), requestId]);
    },

    async listOpen() {
      const buckets = await Promise.all(
        Array.from({ length: OPEN_BUCKETS }, (_, bucket) =>
          all('select_open_bucket', SELECT_OPEN_BUCKET, [bucket]),
        ),
      );
      return buckets.flat().map(openOf);
    },

    // ---- read side (HTTP API) ----

    async getRequest(requestId): Promise<RequestView | null> {
      const [row, completion] = await Promise.all([
        run('select_request', SELECT_REQUEST, [requestId]).then((r) => r.first()),
        getCompletion(requestId),
      ]);
      if (!row && !completion) return null;
      const meta = row ? metaOf(row) : null;
      // Results without a RequestAccepted are not a request (yet): only once accepted, or
      // closed by the orphan timeout, does the id exist for users.
      if (!meta && !completion) return null;
      const r = (name: string): unknown => (row ? row.get(name) : null);
      // The latch is authoritative once it exists: it cannot be overwritten by a late write
      // from an instance that lost the partition.
      return {
        requestId,
        status: completion?.status ?? str(r('status')) ?? 'PENDING',
        products: num(r('products')) ?? 0,
        total: completion?.total ?? meta?.total ?? 0,
        compressed: completion?.compressed ?? num(r('compressed_images')) ?? 0,
        failed: completion?.failed ?? num(r('failed_images')) ?? 0,
        bytesIn: completion?.bytesIn ?? num(r('bytes_in')) ?? 0,
        bytesOut: completion?.bytesOut ?? num(r('bytes_out')) ?? 0,
        hasWebhook: str(r('webhook_url')) !== null,
        options: meta?.options ?? null,
        failureReason: completion?.failureReason ?? str(r('failure_reason')),
        createdAt: ms(r('created_at')) ?? completion?.createdAt ?? null,
        updatedAt: ms(r('updated_at')) ?? completion?.completedAt ?? null,
        completedAt: completion?.completedAt ?? ms(r('completed_at')),
        outputCsvKey: completion?.outputCsvKey ?? null,
        done: completion !== null,
      };
    },

    async listWebhookAttempts(requestId): Promise<WebhookAttempt[]> {
      const rows = await all('select_webhook', SELECT_WEBHOOK, [requestId]);
      return rows.map((row) => ({
        attempt: num(row.get('attempt')) ?? 0,
        state: str(row.get('state')),
        statusCode: num(row.get('status_code')),
        attemptedAt: ms(row.get('attempted_at')),
      }));
    },

    async listImagesPage(requestId, after: ImagePosition | null, limit) {
      const result = after
        ? await run('select_images_page', SELECT_IMAGES_AFTER, [
            requestId,
            after.productIndex,
            after.imageIndex,
            limit,
          ])
        : await run('select_images_page', SELECT_IMAGES_FIRST, [requestId, limit]);
      return result.rows.map(imageOf);
    },

    async getImage(requestId, position) {
      const row = (
        await run('select_image', SELECT_IMAGE, [
          requestId,
          position.productIndex,
          position.imageIndex,
        ])
      ).first();
      return row ? imageOf(row) : null;
    },
  };
}
