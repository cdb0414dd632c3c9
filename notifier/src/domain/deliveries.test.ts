import { fixture, type RequestCompleted } from '@imgpipe/schemas';
import { silentLogger } from '@imgpipe/platform';
import { Webhook } from 'standardwebhooks';
import { createDeliveryService, holdMs, type CompletionMessage } from './deliveries';
import { createEndpointDirectory } from './endpoint-cache';
import type {
  AttemptLogEntry,
  Channel,
  EmailMessage,
  EmailResult,
  EndpointRepository,
  NotifierMetrics,
  TargetRepository,
  TargetRow,
  WebhookEndpoint,
  WebhookRequest,
  WebhookResponse,
} from './ports';
import { newTargetRow } from './ports';
import { createSchedule } from './schedule';
import { generateSecret } from './signing';

// ---- in-memory fakes of the ports (same conditional semantics as the Cassandra adapter) ----

function fakeTargets(): TargetRepository & { rows: Map<string, TargetRow> } {
  const rows = new Map<string, TargetRow>();
  const key = (c: string, t: string) => `${c}|${t}`;
  return {
    rows,
    createAll(completionId, requestId, targets, attempt, claim) {
      if (targets.some((t) => rows.has(key(completionId, t.target)))) return Promise.resolve(false);
      for (const t of targets) {
        rows.set(
          key(completionId, t.target),
          newTargetRow(t, completionId, requestId, attempt, claim),
        );
      }
      return Promise.resolve(true);
    },
    load(completionId) {
      return Promise.resolve(
        [...rows.values()].filter((r) => r.completionId === completionId).map((r) => ({ ...r })),
      );
    },
    claim(completionId, target, attempt, claim) {
      const r = rows.get(key(completionId, target));
      if (!r || r.attempts >= attempt || (r.state !== 'PENDING' && r.state !== 'RETRYING')) {
        return Promise.resolve(false);
      }
      r.attempts = attempt;
      r.claim = claim;
      return Promise.resolve(true);
    },
    record(completionId, target, attempt, claim, result) {
      const r = rows.get(key(completionId, target));
      if (!r || r.attempts !== attempt || r.claim !== claim) return Promise.resolve(false);
      Object.assign(r, {
        state: result.state,
        doneAttempt: attempt,
        nextAttemptAt: result.nextAttemptAt,
        lastStatusCode: result.statusCode,
        lastError: result.error,
      });
      return Promise.resolve(true);
    },
    finish(completionId, target, expected, state, error) {
      const r = rows.get(key(completionId, target));
      if (!r || r.state !== expected) return Promise.resolve(false);
      r.state = state;
      r.lastError = error;
      return Promise.resolve(true);
    },
  };
}

function fakeEndpoints(initial: WebhookEndpoint[] = []): EndpointRepository & {
  all: Map<string, WebhookEndpoint>;
} {
  const all = new Map(initial.map((e) => [e.id, e]));
  return {
    all,
    create: (e) => Promise.resolve(void all.set(e.id, e)),
    list: () => Promise.resolve([...all.values()].map((e) => ({ ...e }))),
    get: (id) => Promise.resolve(all.has(id) ? { ...all.get(id)! } : undefined),
    delete: (id) => Promise.resolve(all.delete(id)),
    rotateSecret(id, expected, secret, expires) {
      const e = all.get(id);
      if (!e || e.secret !== expected) return Promise.resolve(false);
      Object.assign(e, { previousSecret: e.secret, secret, previousSecretExpiresAt: expires });
      return Promise.resolve(true);
    },
    disable(id, reason) {
      const e = all.get(id);
      if (e) Object.assign(e, { disabled: true, disabledReason: reason });
      return Promise.resolve();
    },
  };
}

interface Recorded {
  attempts: string[];
  exhaustedChannels: Channel[];
  disabled: number;
  duplicates: number;
  inFlight: number;
}

function fakeMetrics(): { port: NotifierMetrics; seen: Recorded } {
  const seen: Recorded = {
    attempts: [],
    exhaustedChannels: [],
    disabled: 0,
    duplicates: 0,
    inFlight: 0,
  };
  const port: NotifierMetrics = {
    webhookAttempt: (outcome) => void seen.attempts.push(`webhook:${outcome}`),
    emailAttempt: (outcome) => void seen.attempts.push(`email:${outcome}`),
    exhausted: (channel) => void seen.exhaustedChannels.push(channel),
    endpointDisabled: () => void (seen.disabled += 1),
    duplicate: () => void (seen.duplicates += 1),
    inFlight: (_channel, delta) => void (seen.inFlight += delta),
    processed: () => undefined,
  };
  return { port, seen };
}

const endpoint = (overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint => ({
  id: '7d9f3c2e-1b4a-4c5d-8e6f-0a1b2c3d4e5f',
  url: 'https://hooks.example.com/registered',
  description: null,
  secret: generateSecret(),
  previousSecret: null,
  previousSecretExpiresAt: null,
  disabled: false,
  disabledReason: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...overrides,
});

function setup(
  opts: {
    endpoints?: WebhookEndpoint[];
    respond?: (req: WebhookRequest) => WebhookResponse;
    mail?: (m: EmailMessage) => EmailResult;
    delays?: number[];
  } = {},
) {
  let now = Date.parse('2026-03-01T12:00:00Z');
  const clock = { now: () => now };
  const targets = fakeTargets();
  const log: AttemptLogEntry[] = [];
  const endpointsRepo = fakeEndpoints(opts.endpoints);
  const sent: WebhookRequest[] = [];
  const mails: EmailMessage[] = [];
  const metrics = fakeMetrics();
  const service = createDeliveryService({
    targets,
    log: {
      write: (e) => Promise.resolve(void log.push(e)),
      read: (requestId, target, attempt) =>
        Promise.resolve(
          log.findLast(
            (e) => e.requestId === requestId && e.target === target && e.attempt === attempt,
          ),
        ),
    },
    endpoints: createEndpointDirectory(endpointsRepo, clock, 0),
    sender: {
      post(req) {
        sent.push(req);
        return Promise.resolve(
          opts.respond?.(req) ?? { kind: 'response', status: 200, retryAfter: null, latencyMs: 5 },
        );
      },
    },
    mailer: opts.mail
      ? {
          send(m) {
            mails.push(m);
            return Promise.resolve(opts.mail!(m));
          },
        }
      : null,
    results: {
      fetchIfSmall: () => Promise.resolve({ kind: 'ok', content: Buffer.from('a,b\n1,2\n') }),
    },
    metrics: metrics.port,
    clock,
    schedule: createSchedule(opts.delays ?? [1_000, 2_000, 3_000], 0),
    attachMaxBytes: 1024,
    logger: silentLogger(),
    random: () => 0.5,
  });
  return {
    service,
    targets,
    log,
    sent,
    mails,
    metrics: metrics.seen,
    endpointsRepo,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const completed = (overrides: Partial<RequestCompleted> = {}): RequestCompleted =>
  fixture('RequestCompleted', { email: null, ...overrides });

const message = (event: RequestCompleted, attempt: number, offset = '10'): CompletionMessage => ({
  event,
  attempt,
  claim: `t/0/${offset}#${attempt}`,
});

const status = (s: number, retryAfter: string | null = null): WebhookResponse => ({
  kind: 'response',
  status: s,
  retryAfter,
  latencyMs: 5,
});

describe('delivery sequences', () => {
  it('delivers a signed webhook to the request URL and records the attempt', async () => {
    const t = setup();
    const event = completed();
    expect(await t.service.handle(message(event, 1))).toEqual({ kind: 'done' });
    expect(t.sent).toHaveLength(1);
    const req = t.sent[0]!;
    expect(req.url).toBe(event.webhookUrl);
    expect(req.headers['webhook-id']).toBe(event.completionId);
    expect(req.headers['webhook-timestamp']).toBe(String(Math.floor(t.now() / 1000)));
    // Verified at the fake clock's time (the reference verifier checks ±5 min against now).
    jest.useFakeTimers({ now: t.now(), doNotFake: ['nextTick', 'setImmediate'] });
    try {
      expect(new Webhook(event.webhookSecret!).verify(req.body, req.headers)).toMatchObject({
        type: 'request.completed',
        data: { request_id: event.requestId, status: event.status },
      });
    } finally {
      jest.useRealTimers();
    }
    expect(t.log.map((l) => [l.target, l.attempt, l.state])).toEqual([
      ['request', 1, 'PENDING'],
      ['request', 1, 'SUCCEEDED'],
    ]);
    expect(t.log[1]).toMatchObject({ statusCode: 200, latencyMs: 5, error: null });
    expect(t.metrics.attempts).toEqual(['webhook:success']);
    expect(t.metrics.inFlight).toBe(0);
  });

  it('fans out to registered endpoints with their own secrets', async () => {
    const registered = endpoint();
    const t = setup({
      endpoints: [
        registered,
        endpoint({ id: 'b0000000-0000-4000-8000-000000000000', disabled: true }),
      ],
    });
    const event = completed();
    await t.service.handle(message(event, 1));
    expect(t.sent.map((r) => r.url).sort()).toEqual([event.webhookUrl, registered.url].sort());
    const toEndpoint = t.sent.find((r) => r.url === registered.url)!;
    jest.useFakeTimers({ now: t.now(), doNotFake: ['nextTick', 'setImmediate'] });
    try {
      expect(() =>
        new Webhook(registered.secret).verify(toEndpoint.body, toEndpoint.headers),
      ).not.toThrow();
      expect(() =>
        new Webhook(event.webhookSecret!).verify(toEndpoint.body, toEndpoint.headers),
      ).toThrow();
    } finally {
      jest.useRealTimers();
    }
  });

  it('retries only the failing target, with the same webhook-id, until it succeeds', async () => {
    const registered = endpoint();
    let failures = 3;
    const t = setup({
      endpoints: [registered],
      respond: (req) => (req.url === registered.url && failures-- > 0 ? status(500) : status(200)),
    });
    const event = completed();
    let result = await t.service.handle(message(event, 1));
    expect(result).toMatchObject({ kind: 'retry', afterMs: 1_000 });
    for (let attempt = 2; result.kind === 'retry'; attempt++) {
      t.advance(result.afterMs);
      result = await t.service.handle(message(event, attempt, `r${attempt}`));
    }
    expect(result).toEqual({ kind: 'done' });
    const toEndpoint = t.sent.filter((r) => r.url === registered.url);
    expect(toEndpoint).toHaveLength(4);
    expect(new Set(toEndpoint.map((r) => r.headers['webhook-id']))).toEqual(
      new Set([event.completionId]),
    );
    expect(new Set(toEndpoint.map((r) => r.headers['webhook-timestamp'])).size).toBe(4);
    expect(t.sent.filter((r) => r.url === event.webhookUrl)).toHaveLength(1);
    const endpointLog = t.log.filter((l) => l.target === registered.id && l.state !== 'PENDING');
    expect(endpointLog.map((l) => [l.attempt, l.state, l.statusCode])).toEqual([
      [1, 'RETRYING', 500],
      [2, 'RETRYING', 500],
      [3, 'RETRYING', 500],
      [4, 'SUCCEEDED', 200],
    ]);
    expect(endpointLog[0]!.nextAttemptAt).not.toBeNull();
  });

  it('starts one sequence for duplicate RequestCompleted events', async () => {
    const t = setup();
    const event = completed();
    await t.service.handle(message(event, 1, '10'));
    expect(await t.service.handle(message(event, 1, '11'))).toEqual({ kind: 'done' });
    expect(await t.service.handle(message({ ...event, eventId: 'other' }, 1, '12'))).toEqual({
      kind: 'done',
    });
    expect(t.sent).toHaveLength(1);
    expect(t.metrics.duplicates).toBe(2);
  });

  it('a duplicate arriving while the first is retrying does not attempt again', async () => {
    const t = setup({ respond: () => status(503) });
    const event = completed();
    await t.service.handle(message(event, 1, '10'));
    expect(await t.service.handle(message(event, 1, '99'))).toEqual({ kind: 'done' });
    expect(t.sent).toHaveLength(1);
  });

  it('redelivery of the same record repeats no recorded attempt and keeps the chain', async () => {
    const t = setup({ respond: () => status(500) });
    const event = completed();
    const first = await t.service.handle(message(event, 1));
    const again = await t.service.handle(message(event, 1));
    expect(t.sent).toHaveLength(1);
    expect(again).toEqual(first);
  });

  it('a redelivered record whose sequence already finished sends nothing again', async () => {
    const t = setup();
    const event = completed();
    await t.service.handle(message(event, 1));
    // Finished at the first message: only the attempt log knows the outcome.
    expect([...t.targets.rows.values()][0]).toMatchObject({ state: 'PENDING', doneAttempt: 0 });
    expect(await t.service.handle(message(event, 1))).toEqual({ kind: 'done' });
    expect(t.sent).toHaveLength(1);
  });

  it('a finished target whose outcome only the log knows is not claimed by a later attempt', async () => {
    const t = setup();
    const event = completed();
    await t.service.handle(message(event, 1));
    // E.g. the handler threw after the attempt was logged: the bus retries with attempt 2.
    expect(await t.service.handle(message(event, 2, 'retry-copy'))).toEqual({ kind: 'done' });
    expect(t.sent).toHaveLength(1);
    await t.service.giveUp(message(event, 2, 'retry-copy'), 'late fault');
    expect(t.metrics.exhaustedChannels).toEqual([]);
  });

  it('redoes an attempt claimed but never recorded (crash mid-attempt)', async () => {
    const t = setup();
    const event = completed();
    await t.targets.createAll(
      event.completionId,
      event.requestId,
      [{ target: 'request', channel: 'webhook', address: event.webhookUrl! }],
      1,
      't/0/10#1',
      new Date(),
    );
    expect(await t.service.handle(message(event, 1))).toEqual({ kind: 'done' });
    expect(t.sent).toHaveLength(1);
  });

  it('a second copy of the same retry attempts nothing', async () => {
    const t = setup({ respond: () => status(500) });
    const event = completed();
    await t.service.handle(message(event, 1));
    t.advance(1_000);
    await t.service.handle(message(event, 2, 'copy-a'));
    await t.service.handle(message(event, 2, 'copy-b'));
    expect(t.sent).toHaveLength(2);
  });

  it('410 from a registered endpoint disables it; no further attempts to it', async () => {
    const registered = endpoint();
    const t = setup({
      endpoints: [registered],
      respond: (req) => (req.url === registered.url ? status(410) : status(500)),
    });
    const event = completed();
    const result = await t.service.handle(message(event, 1));
    expect(result.kind).toBe('retry');
    expect(t.endpointsRepo.all.get(registered.id)).toMatchObject({ disabled: true });
    expect(t.metrics.disabled).toBe(1);
    t.advance(1_000);
    await t.service.handle(message(event, 2, 'x'));
    expect(t.sent.filter((r) => r.url === registered.url)).toHaveLength(1);
    expect(t.log.find((l) => l.target === registered.id && l.state === 'DISABLED')).toBeDefined();
    // A later completion does not target the disabled endpoint at all.
    await t.service.handle(
      message(completed({ completionId: 'c2000000-0000-4000-8000-000000000000' }), 1),
    );
    expect(t.sent.filter((r) => r.url === registered.url)).toHaveLength(1);
  });

  it('410 from the request URL ends that delivery only', async () => {
    const t = setup({ respond: () => status(410) });
    expect(await t.service.handle(message(completed(), 1))).toEqual({ kind: 'done' });
    expect(t.log.at(-1)).toMatchObject({ state: 'DISABLED', statusCode: 410 });
  });

  it('after the last attempt: FAILED, counted, and the message is dead-lettered', async () => {
    const t = setup({ respond: () => status(500), delays: [1_000, 1_000] });
    const event = completed();
    let result = await t.service.handle(message(event, 1));
    for (let attempt = 2; result.kind === 'retry'; attempt++) {
      t.advance(result.afterMs);
      result = await t.service.handle(message(event, attempt, `r${attempt}`));
    }
    expect(result.kind).toBe('fail');
    expect(result.kind === 'fail' && result.reason).toMatch(
      /request.*HTTP 500.*gave up after 3 attempts/,
    );
    expect(t.sent).toHaveLength(3);
    expect(t.log.at(-1)).toMatchObject({ attempt: 3, state: 'FAILED', statusCode: 500 });
    expect(t.metrics.exhaustedChannels).toEqual(['webhook']);
  });

  it('a blocked address fails at once, without retries', async () => {
    const t = setup({
      respond: () => ({
        kind: 'error',
        error: 'blocked',
        message: 'Address 10.0.0.1 is not allowed',
        latencyMs: 0,
      }),
    });
    const result = await t.service.handle(message(completed(), 1));
    expect(result).toMatchObject({
      kind: 'fail',
      reason: expect.stringMatching(/not allowed/) as unknown,
    });
    expect(t.metrics.attempts).toEqual(['webhook:blocked']);
  });

  it('Retry-After up to twice the tier delay holds the message that long', async () => {
    const t = setup({ respond: () => status(503, '2') });
    expect(await t.service.handle(message(completed(), 1))).toMatchObject({
      kind: 'retry',
      afterMs: 2_000,
    });
  });

  it('a longer Retry-After skips the slots that come too early', async () => {
    let calls = 0;
    const t = setup({
      respond: () => (calls++ === 0 ? status(429, '4') : status(200)),
      delays: [1_000, 1_000, 1_000, 1_000, 1_000],
    });
    const event = completed();
    let result = await t.service.handle(message(event, 1));
    expect(result).toMatchObject({ kind: 'retry', afterMs: 2_000 }); // capped at 2 × 1 s
    const attemptsAt: number[] = [];
    for (let attempt = 2; result.kind === 'retry'; attempt++) {
      t.advance(result.afterMs);
      const before = t.sent.length;
      result = await t.service.handle(message(event, attempt, `r${attempt}`));
      if (t.sent.length > before) attemptsAt.push(attempt);
    }
    expect(result).toEqual({ kind: 'done' });
    expect(attemptsAt).toEqual([3]); // attempt 2 (2 s after) was too early; 3 (4 s) was not
    expect(t.sent).toHaveLength(2);
  });

  it('sends the completion e-mail with the CSV attached', async () => {
    const t = setup({ mail: () => ({ kind: 'sent', latencyMs: 3, response: '250 OK' }) });
    const event = completed({ email: 'user@example.com', webhookUrl: null, webhookSecret: null });
    expect(await t.service.handle(message(event, 1))).toEqual({ kind: 'done' });
    expect(t.mails).toHaveLength(1);
    expect(t.mails[0]).toMatchObject({
      to: 'user@example.com',
      messageId: `<${event.completionId}@imgpipe>`,
      attachments: [{ contentType: 'text/csv', content: Buffer.from('a,b\n1,2\n') }],
    });
    expect(t.mails[0]!.text).toContain(event.outputCsvUrl);
    expect(t.log.at(-1)).toMatchObject({ target: 'email', state: 'SUCCEEDED' });
  });

  it('retries a deferred e-mail and gives up on a rejected one', async () => {
    let replies = [451, 550];
    const t = setup({
      mail: () => ({
        kind: 'error',
        responseCode: replies.shift()!,
        error: 'rejected',
        message: 'no',
        latencyMs: 1,
      }),
    });
    const event = completed({ email: 'user@example.com', webhookUrl: null, webhookSecret: null });
    expect((await t.service.handle(message(event, 1))).kind).toBe('retry');
    t.advance(1_000);
    expect((await t.service.handle(message(event, 2, 'x'))).kind).toBe('fail');
    expect(t.metrics.attempts).toEqual(['email:deferred', 'email:rejected']);
    replies = [];
  });

  it('no targets: nothing to do', async () => {
    const t = setup();
    expect(
      await t.service.handle(message(completed({ webhookUrl: null, webhookSecret: null }), 1)),
    ).toEqual({ kind: 'done' });
    expect(t.targets.rows.size).toBe(0);
  });

  it('creates the targets on a later attempt if the first one failed before it could', async () => {
    const t = setup();
    expect(await t.service.handle(message(completed(), 2, 'x'))).toEqual({ kind: 'done' });
    expect(t.log.at(-1)).toMatchObject({ attempt: 2, state: 'SUCCEEDED' });
  });

  it('giveUp closes open targets as FAILED once', async () => {
    const t = setup({ respond: () => status(500) });
    const event = completed();
    await t.service.handle(message(event, 1));
    await t.service.giveUp(message(event, 4, 'x'), 'handler threw');
    await t.service.giveUp(message(event, 4, 'x'), 'handler threw');
    expect([...t.targets.rows.values()][0]).toMatchObject({ state: 'FAILED' });
    expect(t.metrics.exhaustedChannels).toEqual(['webhook']);
    expect(t.log.at(-1)).toMatchObject({
      state: 'FAILED',
      error: expect.stringMatching(/handler threw/) as unknown,
    });
  });
});

describe('holdMs', () => {
  const schedule = createSchedule([1_000, 60_000], 0.2);
  const row = (nextAttemptAt: number | null) =>
    ({ nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt) }) as TargetRow;

  it('is the jittered delay, stretched by Retry-After up to twice the tier delay', () => {
    expect(holdMs(schedule, 1, 900, [row(null)], 0)).toBe(900);
    expect(holdMs(schedule, 1, 900, [row(1_500)], 0)).toBe(1_500);
    expect(holdMs(schedule, 1, 900, [row(50_000)], 0)).toBe(2_000);
    expect(holdMs(schedule, 2, 55_000, [row(500)], 0)).toBe(55_000);
  });
});
