/**
 * Delivery sequences for RequestCompleted (issue 7).
 *
 * One consumed message drives attempt n of every unfinished target of its completion; the bus
 * carries the message to attempt n+1 through the delay tier topics (durable across restarts).
 * Per-target state lives in Cassandra: claims in notification_targets (conditional writes),
 * outcomes in the attempt log webhook_deliveries (see withLoggedOutcome), so:
 * - a duplicate RequestCompleted (same completion id, another record) finds the targets already
 *   created (an all-or-nothing `IF NOT EXISTS` batch) and starts nothing: one sequence;
 * - only the targets that still need it are retried: a target that succeeded, was disabled
 *   (410) or failed permanently is skipped by later attempts;
 * - attempt n of a target is performed once: it is claimed with `IF attempts < n`, so a second
 *   copy of the same retry (e.g. a crash between producing the retry and committing) finds it
 *   taken; the message that owns the claim may redo it after a crash (at-least-once, and the
 *   receiver dedupes on webhook-id, which is the completion id on every attempt).
 */
import type { Logger } from '@imgpipe/platform';
import type { RequestCompleted } from '@imgpipe/schemas';
import { classifyEmail, classifyWebhook, type Verdict } from './classify';
import { composeCompletionEmail } from './email';
import type { EndpointDirectory } from './endpoint-cache';
import { signingSecrets } from './endpoints';
import { buildPayload, serializePayload } from './payload';
import {
  EMAIL_TARGET,
  FINAL_STATES,
  REQUEST_TARGET,
  newTargetRow,
  type AttemptLog,
  type Clock,
  type DeliveryState,
  type Mailer,
  type NewTarget,
  type NotifierMetrics,
  type ResultFiles,
  type TargetRepository,
  type TargetRow,
  type WebhookEndpoint,
  type WebhookSender,
} from './ports';
import { nextDelayMs, type RetrySchedule } from './schedule';
import { signedHeaders } from './signing';

/** One consumed RequestCompleted, as the bus hands it over. */
export interface CompletionMessage {
  event: RequestCompleted;
  /** 1 on first delivery, +1 per trip through the delay tiers. */
  attempt: number;
  /** Identifies the consumed record; the same on a redelivery of that record. */
  claim: string;
  signal?: AbortSignal;
}

export type HandleResult =
  | { kind: 'done' }
  | { kind: 'retry'; afterMs: number; reason: string }
  | { kind: 'fail'; reason: string };

export interface DeliveryDeps {
  targets: TargetRepository;
  log: AttemptLog;
  endpoints: EndpointDirectory;
  sender: WebhookSender;
  /** Null when SMTP is not configured: e-mail targets are then not created. */
  mailer: Mailer | null;
  results: ResultFiles;
  metrics: NotifierMetrics;
  clock: Clock;
  schedule: RetrySchedule;
  attachMaxBytes: number;
  logger: Logger;
  random?: () => number;
  userAgent?: string;
}

export interface DeliveryService {
  handle(message: CompletionMessage): Promise<HandleResult>;
  /** The bus gave up on the message (a fault on its last attempt): close what is still open. */
  giveUp(message: CompletionMessage, reason: string): Promise<void>;
}

interface AttemptOutcome {
  verdict: Verdict;
  statusCode: number | null;
  error: string | null;
  latencyMs: number | null;
  /** The endpoint vanished or was disabled meanwhile: no request was sent. */
  skipped?: 'deleted' | 'disabled';
}

/**
 * How long the message waits in its delay tier before the next attempt: the jittered schedule
 * delay, stretched for a receiver's Retry-After up to twice the tier's delay. A longer
 * Retry-After is honoured by skipping the slots that come too early (`waiting`), never by
 * parking the message: a tier partition is FIFO, so one long wait would hold back every
 * delivery queued behind it.
 */
export function holdMs(
  schedule: RetrySchedule,
  attempt: number,
  delayMs: number,
  pending: readonly TargetRow[],
  nowMs: number,
): number {
  const cap = 2 * (schedule.delaysMs[attempt - 1] ?? 0);
  let hold = delayMs;
  for (const r of pending) {
    const wait = (r.nextAttemptAt?.getTime() ?? nowMs) - nowMs;
    hold = Math.max(hold, Math.min(wait, cap));
  }
  return hold;
}

const describe = (rows: readonly TargetRow[]): string =>
  rows.map((r) => `${r.target}${r.lastError ? ` (${r.lastError})` : ''}`).join('; ');

/**
 * The delivery logic behind the requests.completed consumer: plans a completion's targets
 * (the request's webhook, every enabled endpoint, the e-mail), performs the attempt each open
 * target is due for, and tells the bus what to do with the message next (`retry` after
 * `afterMs`, `fail` to dead-letter a sequence that ended with a failed target, or `done`).
 */
export function createDeliveryService(deps: DeliveryDeps): DeliveryService {
  const { targets, log, clock, schedule, metrics } = deps;
  const random = deps.random ?? Math.random;
  const userAgent = deps.userAgent ?? 'imgpipe-webhooks/1.0';
  let warnedNoMail = false;

  async function planTargets(
    event: RequestCompleted,
  ): Promise<{ targets: NewTarget[]; endpoints: Map<string, WebhookEndpoint> }> {
    const planned: NewTarget[] = [];
    if (event.webhookUrl) {
      planned.push({ target: REQUEST_TARGET, channel: 'webhook', address: event.webhookUrl });
    }
    const endpoints = new Map<string, WebhookEndpoint>();
    for (const endpoint of await deps.endpoints.enabled()) {
      endpoints.set(endpoint.id, endpoint);
      planned.push({ target: endpoint.id, channel: 'webhook', address: endpoint.url });
    }
    if (event.email) {
      if (deps.mailer)
        planned.push({ target: EMAIL_TARGET, channel: 'email', address: event.email });
      else if (!warnedNoMail) {
        warnedNoMail = true;
        deps.logger.warn(
          { requestId: event.requestId },
          'a request asked for an e-mail but SMTP_URL is not set: e-mails are not sent',
        );
      }
    }
    return { targets: planned, endpoints };
  }

  async function attemptWebhook(
    row: TargetRow,
    event: RequestCompleted,
    attempt: number,
    snapshot: ReadonlyMap<string, WebhookEndpoint>,
    signal: AbortSignal | undefined,
  ): Promise<AttemptOutcome> {
    let url: string;
    let secrets: string[];
    if (row.target === REQUEST_TARGET) {
      url = event.webhookUrl ?? row.address;
      if (!event.webhookSecret) {
        return {
          verdict: { kind: 'fail' },
          statusCode: null,
          error: 'the completion carries no webhook secret to sign with',
          latencyMs: null,
        };
      }
      secrets = [event.webhookSecret];
    } else {
      const endpoint = snapshot.get(row.target) ?? (await deps.endpoints.get(row.target));
      if (!endpoint) {
        return {
          verdict: { kind: 'disable' },
          statusCode: null,
          error: 'endpoint deleted',
          latencyMs: null,
          skipped: 'deleted',
        };
      }
      if (endpoint.disabled) {
        return {
          verdict: { kind: 'disable' },
          statusCode: null,
          error: `endpoint disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`,
          latencyMs: null,
          skipped: 'disabled',
        };
      }
      url = endpoint.url;
      secrets = signingSecrets(endpoint, clock.now());
    }
    const body = serializePayload(buildPayload(event));
    let headers: Record<string, string>;
    try {
      headers = {
        'content-type': 'application/json',
        'user-agent': userAgent,
        ...signedHeaders(secrets, event.completionId, Math.floor(clock.now() / 1000), body),
      };
    } catch (err) {
      return {
        verdict: { kind: 'fail' },
        statusCode: null,
        error: (err as Error).message,
        latencyMs: null,
      };
    }
    const response = await deps.sender.post({ url, headers, body }, signal);
    const classified = classifyWebhook(response, clock.now());
    metrics.webhookAttempt(classified.label, attempt, response.latencyMs / 1000);
    return {
      verdict: classified.verdict,
      statusCode: classified.statusCode,
      error: classified.error,
      latencyMs: response.latencyMs,
    };
  }

  async function attemptEmail(
    row: TargetRow,
    event: RequestCompleted,
    attempt: number,
  ): Promise<AttemptOutcome> {
    if (!deps.mailer) {
      return {
        verdict: { kind: 'fail' },
        statusCode: null,
        error: 'SMTP is not configured',
        latencyMs: null,
      };
    }
    const started = clock.now();
    let csv: Buffer | null;
    try {
      const fetched = await deps.results.fetchIfSmall(event.outputCsvKey, deps.attachMaxBytes);
      csv = fetched.kind === 'ok' ? fetched.content : null;
    } catch (err) {
      const latencyMs = clock.now() - started;
      metrics.emailAttempt('storage', attempt, latencyMs / 1000);
      return {
        verdict: { kind: 'retry', notBeforeMs: null },
        statusCode: null,
        error: `output CSV unavailable: ${(err as Error).message}`,
        latencyMs,
      };
    }
    const result = await deps.mailer.send(composeCompletionEmail(event, row.address, csv));
    const classified = classifyEmail(result);
    metrics.emailAttempt(classified.label, attempt, result.latencyMs / 1000);
    return {
      verdict: classified.verdict,
      statusCode: classified.statusCode,
      error: classified.error,
      latencyMs: result.latencyMs,
    };
  }

  /** Performs attempt `attempt` on one claimed target and records it. */
  async function attemptTarget(
    row: TargetRow,
    message: CompletionMessage,
    delayMs: number | undefined,
    snapshot: ReadonlyMap<string, WebhookEndpoint>,
  ): Promise<TargetRow> {
    const { event, attempt } = message;
    const started = clock.now();
    const base = {
      requestId: event.requestId,
      target: row.target,
      attempt,
      completionId: event.completionId,
      url: row.address,
      attemptedAt: new Date(started),
    };
    // Issued before the request goes out (the driver's client-side timestamps order it before
    // the outcome written below), so an attempt cut short by a crash is visible; not awaited
    // first, to keep a Cassandra round trip off the delivery's path. Settled into a value at
    // once so a failure is never an unhandled rejection while the request runs.
    const pendingWritten = log
      .write({
        ...base,
        state: 'PENDING',
        statusCode: null,
        latencyMs: null,
        error: null,
        nextAttemptAt: null,
      })
      .then(
        () => null,
        (err: unknown) => ({ err }),
      );
    metrics.inFlight(row.channel, 1);
    let outcome: AttemptOutcome;
    try {
      outcome =
        row.channel === 'email'
          ? await attemptEmail(row, event, attempt)
          : await attemptWebhook(row, event, attempt, snapshot, message.signal);
    } finally {
      metrics.inFlight(row.channel, -1);
    }
    const ended = clock.now();
    let state: DeliveryState;
    let nextAttemptAt: Date | null = null;
    let error = outcome.error;
    switch (outcome.verdict.kind) {
      case 'success':
        state = 'SUCCEEDED';
        break;
      case 'disable':
        state = 'DISABLED';
        if (row.target !== REQUEST_TARGET && row.channel === 'webhook' && !outcome.skipped) {
          await deps.endpoints.disable(
            row.target,
            `${error ?? 'disabled'} (${new Date(ended).toISOString()})`,
            new Date(ended),
          );
          metrics.endpointDisabled();
          deps.logger.warn(
            { requestId: event.requestId, endpointId: row.target },
            'endpoint answered 410 Gone: disabled',
          );
        }
        break;
      case 'fail':
        state = 'FAILED';
        break;
      case 'retry':
        if (delayMs === undefined) {
          state = 'FAILED';
          error = `${error ?? 'failed'}; gave up after ${attempt} attempts`;
          metrics.exhausted(row.channel);
          deps.logger.warn(
            { requestId: event.requestId, target: row.target, attempt },
            'delivery attempts exhausted',
          );
        } else {
          state = 'RETRYING';
          nextAttemptAt = new Date(ended + Math.max(delayMs, outcome.verdict.notBeforeMs ?? 0));
        }
        break;
    }
    const pendingFailed = await pendingWritten;
    if (pendingFailed) throw pendingFailed.err;
    await log.write({
      ...base,
      state,
      statusCode: outcome.statusCode,
      latencyMs: outcome.latencyMs,
      error,
      nextAttemptAt,
    });
    return {
      ...row,
      state,
      nextAttemptAt,
      lastStatusCode: outcome.statusCode,
      lastError: error,
      doneAttempt: attempt,
    };
  }

  /**
   * The target as it really stands. notification_targets learns an attempt's outcome only when
   * the sequence goes on past it (one conditional write saved per delivery); otherwise the
   * outcome is in the attempt log, which is always written. Consulted only when the table
   * does not know the outcome of the last claimed attempt.
   */
  async function withLoggedOutcome(row: TargetRow): Promise<TargetRow> {
    if (row.doneAttempt >= row.attempts || FINAL_STATES.has(row.state)) return row;
    const logged = await log.read(row.requestId, row.target, row.attempts);
    if (!logged || logged.state === 'PENDING') return row;
    return {
      ...row,
      state: logged.state,
      doneAttempt: row.attempts,
      nextAttemptAt: logged.nextAttemptAt,
      lastStatusCode: logged.statusCode,
      lastError: logged.error,
    };
  }

  return {
    async handle(message) {
      const { event, attempt, claim } = message;
      const now = () => new Date(clock.now());
      let snapshot: ReadonlyMap<string, WebhookEndpoint> = new Map();
      let rows: TargetRow[] = attempt === 1 ? [] : await targets.load(event.completionId);
      let created = false;
      if (rows.length === 0) {
        // First sight of this completion (or an earlier attempt failed before creating rows).
        const plan = await planTargets(event);
        if (plan.targets.length === 0) {
          metrics.processed();
          return { kind: 'done' };
        }
        snapshot = plan.endpoints;
        created = await targets.createAll(
          event.completionId,
          event.requestId,
          plan.targets,
          attempt,
          claim,
          now(),
        );
        rows = created
          ? plan.targets.map((t) =>
              newTargetRow(t, event.completionId, event.requestId, attempt, claim),
            )
          : await targets.load(event.completionId);
      }

      if (!created) rows = await Promise.all(rows.map(withLoggedOutcome));

      const nowMs = clock.now();
      const last = attempt >= schedule.maxAttempts;
      const work: TargetRow[] = [];
      /** Already attempted by this very record (redelivered after its outcome was recorded). */
      const carried: TargetRow[] = [];
      /** A receiver's Retry-After reaches past this slot: skip it, try at a later one. */
      const waiting: TargetRow[] = [];
      for (const row of rows) {
        if (FINAL_STATES.has(row.state)) continue;
        if (row.attempts === attempt && row.claim === claim) {
          // Ours: fresh, or this very record redelivered after a crash.
          if (row.doneAttempt >= attempt) carried.push(row);
          else work.push(row);
        } else if (row.attempts < attempt) {
          if (!last && row.nextAttemptAt !== null && row.nextAttemptAt.getTime() > nowMs) {
            waiting.push(row);
          } else if (await targets.claim(event.completionId, row.target, attempt, claim, now())) {
            work.push({ ...row, attempts: attempt, claim });
          }
        }
      }
      if (work.length === 0 && carried.length === 0 && waiting.length === 0) {
        if (attempt === 1 && !created) {
          metrics.duplicate();
          deps.logger.info(
            { requestId: event.requestId, completionId: event.completionId },
            'completion already being delivered: duplicate ignored',
          );
        }
        metrics.processed();
        return { kind: 'done' };
      }

      const delayMs = nextDelayMs(schedule, attempt, random);
      const attempted = await Promise.all(
        work.map((row) => attemptTarget(row, message, delayMs, snapshot)),
      );
      metrics.processed();

      const pending = [...attempted, ...carried, ...waiting].filter((r) => r.state === 'RETRYING');
      if (pending.length > 0 && delayMs !== undefined) {
        // The sequence goes on: later attempts must see which targets are finished.
        await Promise.all(
          attempted.map((r) =>
            targets.record(
              event.completionId,
              r.target,
              attempt,
              claim,
              {
                state: r.state,
                nextAttemptAt: r.nextAttemptAt,
                statusCode: r.lastStatusCode,
                error: r.lastError,
              },
              now(),
            ),
          ),
        );
        return {
          kind: 'retry',
          afterMs: holdMs(schedule, attempt, delayMs, pending, clock.now()),
          reason: `attempt ${attempt} failed: ${describe(pending)}`,
        };
      }
      // The sequence ended here: dead-letter the completion if any target of it failed.
      const latest = new Map(rows.map((r) => [r.target, r]));
      for (const r of attempted) latest.set(r.target, r);
      const failed = [...latest.values()].filter((r) => r.state === 'FAILED');
      if (failed.length > 0) {
        return { kind: 'fail', reason: `notification failed: ${describe(failed)}` };
      }
      return { kind: 'done' };
    },

    async giveUp(message, reason) {
      const { event } = message;
      const rows = await Promise.all(
        (await targets.load(event.completionId)).map(withLoggedOutcome),
      );
      for (const row of rows) {
        if (FINAL_STATES.has(row.state)) continue;
        const error = `gave up after ${Math.max(row.attempts, message.attempt)} attempts: ${reason}`;
        const at = new Date(clock.now());
        if (!(await targets.finish(event.completionId, row.target, row.state, 'FAILED', error, at)))
          continue;
        await log.write({
          requestId: event.requestId,
          target: row.target,
          attempt: Math.max(row.attempts, 1),
          completionId: event.completionId,
          url: row.address,
          state: 'FAILED',
          statusCode: row.lastStatusCode,
          latencyMs: null,
          error,
          attemptedAt: at,
          nextAttemptAt: null,
        });
        metrics.exhausted(row.channel);
      }
    },
  };
}
