/**
 * What the notifier's domain needs from the outside world. Adapters (adapters/) implement
 * these with Cassandra, undici, nodemailer, S3 and prom-client; unit tests use in-memory fakes.
 */

/** A registered endpoint (table webhook_endpoints). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  /** The current signing secret (`whsec_…`). */
  secret: string;
  /** The secret before the last rotation; still signs until `previousSecretExpiresAt`. */
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  disabled: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Registered endpoints. */
export interface EndpointRepository {
  create(endpoint: WebhookEndpoint): Promise<void>;
  /** Every endpoint (a small table: endpoints are registered by operators, not per request). */
  list(): Promise<WebhookEndpoint[]>;
  get(id: string): Promise<WebhookEndpoint | undefined>;
  /** True when a row was deleted. */
  delete(id: string): Promise<boolean>;
  /**
   * Replaces the secret, keeping the old one as `previousSecret` until `previousExpiresAt`.
   * Conditional on the secret still being `expectedSecret`: false when another rotation won.
   */
  rotateSecret(
    id: string,
    expectedSecret: string,
    newSecret: string,
    previousExpiresAt: Date,
    now: Date,
  ): Promise<boolean>;
  /** Marks the endpoint disabled (410 Gone): no further deliveries to it. */
  disable(id: string, reason: string, now: Date): Promise<void>;
}

export type Channel = 'webhook' | 'email';
export type DeliveryState = 'PENDING' | 'SUCCEEDED' | 'RETRYING' | 'FAILED' | 'DISABLED';
export const FINAL_STATES: ReadonlySet<DeliveryState> = new Set([
  'SUCCEEDED',
  'FAILED',
  'DISABLED',
]);

/** The target id of the request's own webhook (`webhook_url` given at upload). */
export const REQUEST_TARGET = 'request';
/** The target id of the completion e-mail. */
export const EMAIL_TARGET = 'email';

/** One delivery sequence: a completion to one target (table notification_targets). */
/** The row `createAll` writes for a target: claimed for `attempt`, nothing recorded yet. */
export const newTargetRow = (
  t: NewTarget,
  completionId: string,
  requestId: string,
  attempt: number,
  claim: string,
): TargetRow => ({
  ...t,
  completionId,
  requestId,
  state: 'PENDING',
  attempts: attempt,
  doneAttempt: 0,
  claim,
  nextAttemptAt: null,
  lastStatusCode: null,
  lastError: null,
});

export interface TargetRow {
  completionId: string;
  /** 'request' | endpoint id | 'email'. */
  target: string;
  requestId: string;
  channel: Channel;
  /** URL or e-mail address. */
  address: string;
  state: DeliveryState;
  /** Highest attempt number claimed. */
  attempts: number;
  /** Highest attempt number whose outcome is recorded. */
  doneAttempt: number;
  /** Which consumed message owns attempt `attempts`. */
  claim: string;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
}

export interface NewTarget {
  target: string;
  channel: Channel;
  address: string;
}

export interface AttemptResultRecord {
  state: DeliveryState;
  nextAttemptAt: Date | null;
  statusCode: number | null;
  error: string | null;
}

/** The delivery sequences of each completion; every write is conditional (LWT). */
export interface TargetRepository {
  /**
   * Creates every target of a completion at once with attempt `attempt` (1, unless an earlier
   * attempt failed before creating them) claimed by `claim`, only if none exists (all or
   * nothing). False means the completion was seen before (a duplicate, or this same message
   * redelivered).
   */
  createAll(
    completionId: string,
    requestId: string,
    targets: readonly NewTarget[],
    attempt: number,
    claim: string,
    now: Date,
  ): Promise<boolean>;
  load(completionId: string): Promise<TargetRow[]>;
  /** Claims attempt `attempt` when no attempt ≥ it was claimed and the target is not final. */
  claim(
    completionId: string,
    target: string,
    attempt: number,
    claim: string,
    now: Date,
  ): Promise<boolean>;
  /**
   * Records attempt `attempt`'s outcome, if `claim` still owns it. Needed only when the sequence
   * goes on (later attempts must not claim a finished target); the attempt log holds every
   * outcome regardless.
   */
  record(
    completionId: string,
    target: string,
    attempt: number,
    claim: string,
    result: AttemptResultRecord,
    now: Date,
  ): Promise<boolean>;
  /** Forces a non-final target to a final state (the bus gave up on the message). */
  finish(
    completionId: string,
    target: string,
    expected: DeliveryState,
    state: DeliveryState,
    error: string,
    now: Date,
  ): Promise<boolean>;
}

/** One row of webhook_deliveries: what one attempt did (the status API reads these). */
export interface AttemptLogEntry {
  requestId: string;
  target: string;
  attempt: number;
  completionId: string;
  url: string;
  state: DeliveryState;
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  attemptedAt: Date;
  nextAttemptAt: Date | null;
}

export interface AttemptLog {
  /** Upsert by (request, target, attempt): writing the same attempt again overwrites it. */
  write(entry: AttemptLogEntry): Promise<void>;
  /** One attempt's entry, if written. */
  read(requestId: string, target: string, attempt: number): Promise<AttemptLogEntry | undefined>;
}

/** One signed POST. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What happened on the wire; the domain classifies it. */
export type WebhookResponse =
  | {
      kind: 'response';
      status: number;
      /** Raw `Retry-After` header, if any. */
      retryAfter: string | null;
      latencyMs: number;
    }
  | {
      kind: 'error';
      /** timeout: connect or whole-attempt deadline; blocked: the private-address guard. */
      error: 'timeout' | 'network' | 'blocked' | 'invalid_url';
      message: string;
      latencyMs: number;
    };

export interface WebhookSender {
  /** Never throws for delivery problems: they are results. Rejects only when `signal` aborts. */
  post(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse>;
}

export interface EmailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per completion so mail clients and servers can spot a resent message. */
  messageId: string;
  attachments: EmailAttachment[];
}

export type EmailResult =
  | { kind: 'sent'; latencyMs: number; response: string }
  | {
      kind: 'error';
      /** SMTP reply code when the server answered (5xx = permanent). */
      responseCode: number | null;
      error: 'rejected' | 'timeout' | 'network';
      message: string;
      latencyMs: number;
    };

export interface Mailer {
  send(message: EmailMessage): Promise<EmailResult>;
}

/** The output CSV (S3 `results/{requestId}.csv`), for attaching to the e-mail. */
export type CsvFetch =
  { kind: 'ok'; content: Buffer } | { kind: 'too_large'; size: number } | { kind: 'missing' };

export interface ResultFiles {
  /** Reads the object when it is at most `maxBytes`; throws on storage faults (retried). */
  fetchIfSmall(key: string, maxBytes: number): Promise<CsvFetch>;
}

export type WebhookOutcomeLabel =
  'success' | 'http_3xx' | 'http_4xx' | 'http_5xx' | 'timeout' | 'network' | 'blocked';
export type EmailOutcomeLabel =
  'success' | 'rejected' | 'deferred' | 'timeout' | 'network' | 'storage';

/** Counters and gauges the domain reports (names in adapters/metrics.ts). */
export interface NotifierMetrics {
  webhookAttempt(outcome: WebhookOutcomeLabel, attempt: number, seconds: number): void;
  emailAttempt(outcome: EmailOutcomeLabel, attempt: number, seconds: number): void;
  exhausted(channel: Channel): void;
  endpointDisabled(): void;
  duplicate(): void;
  /** Attempts in progress in this process (+1 at start, -1 at end). */
  inFlight(channel: Channel, delta: number): void;
  processed(): void;
}

export interface Clock {
  now(): number;
}
