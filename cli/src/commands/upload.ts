/** `imgpipe upload <file.csv> [--wait]` (issue #9, "CLI"). */
import type { ApiFailure, ImgpipeApi, ProductStatus, StatusBody, Uploaded } from '../api';
import { defaultOutPath, type UploadInvocation } from '../args';
import type { CliDeps } from '../deps';
import { ExitCode, exitCodeForFailure, exitCodeForFinalStatus } from '../exit-codes';
import { failedImageLine, finalSummaryLines, formatBytes } from '../format';
import { usageHint } from '../help';
import { detailLines, reportLines } from '../render-error';
import { commandFor, imagePages, printLines } from './common';
import { waitUntilDone } from './wait';

/** Retry-After when a 503 has none, and the longest wait honoured (a broken header must not
 * park the CLI for an hour). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;
export const MAX_RETRY_AFTER_SECONDS = 60;
/** Failed images listed after `--wait`; `status --images` lists them all. */
export const FAILURES_SHOWN = 10;
/** Pages scanned for those (20,000 images); beyond that the hint points at `status --images`. */
const FAILURE_SCAN_PAGES = 20;

/**
 * Worth sending again after Retry-After: 503 means nothing was accepted (or the request was
 * closed as failed, and ingest released the key so that a retry creates a new one), and 409
 * ERR_IDEMPOTENCY_IN_PROGRESS means the first upload with this key is still running (the
 * retry gets its 202). Network errors are not retried: the upload may have been accepted.
 */
export const isRetriableUpload = (f: ApiFailure): f is ApiFailure & { kind: 'http' } =>
  f.kind === 'http' && (f.status === 503 || f.code === 'ERR_IDEMPOTENCY_IN_PROGRESS');

export async function uploadCommand(inv: UploadInvocation, deps: CliDeps): Promise<number> {
  const say = (...lines: string[]) => printLines(deps.stderr, lines);

  // Everything local first: a missing file or an unwritable --out must not cost an upload.
  const inspected = await deps.files.inspectCsv(inv.file);
  if (!inspected.ok) {
    say(`imgpipe: ${inspected.reason}`, usageHint('upload'));
    return ExitCode.usage;
  }
  if (inv.wait) {
    // The default name needs the id; its directory (the current one) is what can fail.
    const problem = await deps.files.checkWritable(inv.out ?? defaultOutPath('pending'));
    if (problem) {
      say(`imgpipe: ${problem}`, usageHint('upload'));
      return ExitCode.usage;
    }
  }

  const api = deps.api(inv.baseUrl);
  const uploaded = await uploadWithRetries(api, inv, inspected.csv, deps);
  if (!uploaded.ok) return uploaded.exitCode;
  const accepted = uploaded.value.body;
  const id = accepted.request_id;
  // stdout: the id alone, so `id=$(imgpipe upload x.csv)` works; the rest is for people.
  // With `--wait --out -` stdout is the output CSV, so `… > result.csv` is a clean file, and
  // the id goes with the rest to stderr.
  if (inv.out === '-') say(`request: ${id}`);
  else deps.stdout.write(`${id}\n`);
  say(
    `accepted: ${accepted.products} products, ${accepted.images} images${uploaded.value.replayed ? ' (replayed: this idempotency key was used before; same request as then)' : ''}`,
    `status: ${accepted.status_url}`,
  );
  if (accepted.webhook_secret) {
    say(`webhook secret: ${accepted.webhook_secret} (verifies the webhook's signature; keep it)`);
  }
  if (!inv.wait) return ExitCode.ok;

  const view = deps.progressView();
  let outcome: Awaited<ReturnType<typeof waitUntilDone>>;
  try {
    outcome = await waitUntilDone(api, id, view, deps);
  } finally {
    view.stop();
  }
  switch (outcome.kind) {
    case 'interrupted':
      say(
        `interrupted: request ${id} keeps running on the server.`,
        `follow it:   ${commandFor('status', id, api.baseUrl)}`,
        `when done:   ${commandFor('download', id, api.baseUrl)}`,
      );
      return ExitCode.interrupted;
    case 'gave-up':
    case 'rejected':
      say(
        ...reportLines('status', outcome.failure, api.baseUrl),
        `The request may still be running: ${commandFor('status', id, api.baseUrl)}`,
      );
      return exitCodeForFailure(outcome.failure);
    case 'done':
      return finish(api, inv, outcome.status, deps);
  }
}

async function uploadWithRetries(
  api: ImgpipeApi,
  inv: UploadInvocation,
  csv: Parameters<ImgpipeApi['upload']>[0]['csv'],
  deps: CliDeps,
): Promise<{ ok: true; value: Uploaded } | { ok: false; exitCode: number }> {
  const say = (...lines: string[]) => printLines(deps.stderr, lines);
  for (let attempt = 0; ; attempt += 1) {
    const result = await api.upload(
      {
        csv,
        fields: inv.fields,
        ...(inv.idempotencyKey === undefined ? {} : { idempotencyKey: inv.idempotencyKey }),
      },
      deps.signal,
    );
    if (result.ok) return result;
    const failure = result.failure;
    if (failure.kind === 'aborted') {
      say(
        'interrupted before imgpipe answered: the upload may or may not have been accepted.',
        inv.idempotencyKey === undefined
          ? 'Next time give --idempotency-key, so that running the command again is safe.'
          : 'Run the same command again: the same --idempotency-key returns the same request.',
      );
      return { ok: false, exitCode: ExitCode.interrupted };
    }
    if (isRetriableUpload(failure) && attempt < inv.retries) {
      const seconds = Math.min(
        failure.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
        MAX_RETRY_AFTER_SECONDS,
      );
      say(
        `imgpipe: upload not accepted yet: ${failure.code} (HTTP ${failure.status}): ${failure.message}`,
        // ERR_REQUEST_CLOSED names the request it had to close as failed: worth knowing.
        ...detailLines(failure.details),
        `retrying in ${seconds} s (retry ${attempt + 1} of ${inv.retries})`,
      );
      await deps.sleep(seconds * 1000, deps.signal);
      if (deps.signal.aborted) {
        say('interrupted while waiting to retry; nothing was accepted.');
        return { ok: false, exitCode: ExitCode.interrupted };
      }
      continue;
    }
    say(...reportLines('upload', failure, api.baseUrl));
    return { ok: false, exitCode: exitCodeForFailure(failure) };
  }
}

/** The request is final: summary, failed images, the output CSV, the exit code. */
async function finish(
  api: ImgpipeApi,
  inv: UploadInvocation,
  status: StatusBody,
  deps: CliDeps,
): Promise<number> {
  const say = (...lines: string[]) => printLines(deps.stderr, lines);
  const id = status.request_id;
  say(...finalSummaryLines(status));
  if (status.progress.failed > 0) {
    say(...(await failureLines(api, id, status.progress.failed, deps.signal)));
  }
  if (status.status === 'FAILED') {
    // No file: a CSV without a single output URL would only look like a result.
    say(`imgpipe: request ${id} FAILED; no output CSV written.`);
    return exitCodeForFinalStatus(status.status);
  }
  if (status.progress.failed > 0) {
    say(
      `warning: ${status.progress.failed} of ${status.progress.total} images failed; their Output Image Urls cells are empty.`,
    );
  }
  const out = inv.out ?? defaultOutPath(id);
  const csv = await api.outputCsv(id, deps.signal);
  if (!csv.ok) {
    say(...reportLines('output CSV download', csv.failure, api.baseUrl));
    say(`Fetch it later with: ${commandFor('download', id, api.baseUrl)}`);
    return exitCodeForFailure(csv.failure);
  }
  const saved = await deps.files.save(csv.value, out);
  if (!saved.ok) {
    if (deps.signal.aborted) {
      say(`interrupted; fetch the output CSV with: ${commandFor('download', id, api.baseUrl)}`);
      return ExitCode.interrupted;
    }
    say(
      `imgpipe: ${saved.side === 'source' ? 'download of the output CSV broke off' : `cannot write ${out}`}: ${saved.reason}`,
      `Fetch it again with: ${commandFor('download', id, api.baseUrl)} --out FILE`,
    );
    return saved.side === 'source' ? ExitCode.unavailable : ExitCode.error;
  }
  if (out !== '-') say(`output CSV: ${out} (${formatBytes(saved.bytes)})`);
  return exitCodeForFinalStatus(status.status);
}

/** Up to {@link FAILURES_SHOWN} failed images with their reasons, and where to see all. */
async function failureLines(
  api: ImgpipeApi,
  id: string,
  failedTotal: number,
  signal: AbortSignal,
): Promise<string[]> {
  const found: [ProductStatus, ProductStatus['images'][number]][] = [];
  let pages = 0;
  for await (const page of imagePages(api, id, signal)) {
    if (!page.ok) break;
    for (const product of page.value.products ?? [])
      for (const image of product.images)
        if (image.status !== 'COMPRESSED' && found.length < FAILURES_SHOWN)
          found.push([product, image]);
    pages += 1;
    if (
      found.length >= FAILURES_SHOWN ||
      found.length >= failedTotal ||
      pages >= FAILURE_SCAN_PAGES
    )
      break;
  }
  const lines =
    found.length > 0 ? ['failed images:', ...found.map(([p, i]) => failedImageLine(p, i))] : [];
  if (failedTotal > found.length) {
    lines.push(
      `${found.length > 0 ? `  … and ${failedTotal - found.length} more` : `${failedTotal} images failed`}: ${commandFor('status', id, api.baseUrl)} --images`,
    );
  }
  return lines;
}
