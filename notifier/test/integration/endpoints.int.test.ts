/**
 * Registered endpoints through the notifier's HTTP API, on real Cassandra and Kafka: the
 * registration contract, 410 Gone disabling an endpoint, and secret rotation signing twice.
 *
 * Endpoints are global (every completion goes to every enabled endpoint), so other notifiers
 * running tests on the same engines may deliver here too: receivers filter by webhook-id, and
 * every endpoint created here is deleted again.
 */
import { Webhook } from 'standardwebhooks';
import type { CassandraClient } from '@imgpipe/platform';
import { createNotifier, type Notifier } from '../../src';
import { waitFor } from '../../../test/support/env';
import {
  cassandra,
  completion,
  createPublisher,
  deliveryRows,
  deliveryRowsOnce,
  metricValue,
  notifierConfig,
  privateTopics,
  startReceiver,
  testLogger,
  type Receiver,
} from './support';

let notifier: Notifier;
let publisher: Awaited<ReturnType<typeof createPublisher>>;
let db: CassandraClient;
const receivers: Receiver[] = [];
const created = new Set<string>();

interface Json {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

const api = async (method: string, path: string, body?: unknown): Promise<Json> => {
  const res = await fetch(`${notifier.url()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
};

const register = async (url: string, description?: string) => {
  const res = await api('POST', '/webhooks', description ? { url, description } : { url });
  expect(res.status).toBe(201);
  created.add(res.body.id as string);
  return res.body as { id: string; url: string; secret: string; created_at: string };
};

beforeAll(async () => {
  const prefix = await privateTopics();
  // No list cache: the tests change endpoints and publish right after.
  notifier = createNotifier(notifierConfig(prefix, { WEBHOOK_ENDPOINT_CACHE_MS: '0' }), {
    logger: testLogger(),
  });
  await notifier.start();
  await waitFor(() => notifier.isReady() || undefined, {
    what: 'notifier ready',
    timeoutMs: 60_000,
  });
  publisher = await createPublisher(prefix);
  db = cassandra();
  await db.connect();
});

afterAll(async () => {
  for (const id of created) await api('DELETE', `/webhooks/${id}`);
  await notifier?.stop();
  await publisher?.close();
  await db?.shutdown();
  await Promise.all(receivers.map((r) => r.close()));
});

describe('endpoint registration API', () => {
  it('creates, shows (without the secret), lists and deletes', async () => {
    const res = await api('POST', '/webhooks', {
      url: 'http://127.0.0.1:9/registered',
      description: 'orders system',
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    created.add(id);
    expect(res.headers.get('location')).toBe(`/webhooks/${id}`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      url: 'http://127.0.0.1:9/registered',
      description: 'orders system',
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) as unknown,
      disabled: false,
      disabled_reason: null,
      previous_secret_expires_at: null,
      created_at: expect.any(String) as unknown,
      updated_at: expect.any(String) as unknown,
    });

    const shown = await api('GET', `/webhooks/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('secret');
    expect(shown.body).toMatchObject({ id, url: 'http://127.0.0.1:9/registered' });

    const list = await api('GET', '/webhooks');
    const listed = (list.body.webhooks as Record<string, unknown>[]).find((w) => w.id === id);
    expect(listed).toEqual(shown.body);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');

    expect((await api('DELETE', `/webhooks/${id}`)).status).toBe(204);
    created.delete(id);
    const gone = await api('GET', `/webhooks/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({
      error: { code: 'ERR_WEBHOOK_NOT_FOUND', message: `No webhook endpoint ${id}` },
    });
    expect((await api('DELETE', `/webhooks/${id}`)).status).toBe(404);
  });

  it.each([
    ['not a URL', { url: 'not a url' }, 'ERR_WEBHOOK_URL'],
    ['ftp', { url: 'ftp://example.com/x' }, 'ERR_WEBHOOK_URL'],
    ['metadata address', { url: 'http://169.254.169.254/latest/meta-data' }, 'ERR_WEBHOOK_URL'],
    ['no url', { description: 'x' }, 'ERR_WEBHOOK_URL'],
    ['unknown field', { url: 'https://example.com/', secret: 'mine' }, 'ERR_VALIDATION'],
  ])('400 in the shared error shape for %s, nothing stored', async (_label, body, code) => {
    const before = ((await api('GET', '/webhooks')).body.webhooks as unknown[]).length;
    const res = await api('POST', '/webhooks', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code, message: expect.any(String) as unknown });
    expect((res.body.error as { details: unknown[] }).details.length).toBeGreaterThan(0);
    // Other test files may register endpoints meanwhile, never fewer than before.
    expect(
      ((await api('GET', '/webhooks')).body.webhooks as unknown[]).length,
    ).toBeGreaterThanOrEqual(before);
  });

  it('400 for malformed JSON and a malformed id; 404 for unknown routes', async () => {
    const bad = await api('POST', '/webhooks', '{"url": ');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ message: expect.any(String) as unknown });
    const badId = await api('GET', '/webhooks/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(badId.body.error).toMatchObject({ code: 'ERR_BAD_ID' });
    expect((await api('GET', '/nope')).status).toBe(404);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await api('GET', '/healthz')).status).toBe(200);
    expect((await api('GET', '/readyz')).status).toBe(200);
    const metrics = await (await fetch(`${notifier.url()}/metrics`)).text();
    for (const name of [
      'imgpipe_webhook_attempts_total',
      'imgpipe_webhook_duration_seconds',
      'imgpipe_webhook_pending',
      'imgpipe_webhook_exhausted_total',
      'imgpipe_webhook_endpoints_disabled_total',
      'imgpipe_last_processed_timestamp_seconds',
    ]) {
      expect(metrics).toContain(`# TYPE ${name}`);
    }
  });
});

describe('deliveries to registered endpoints', () => {
  it('410 Gone disables the endpoint: one attempt, no more, later completions skip it', async () => {
    const first = completion({ webhookUrl: null, webhookSecret: null });
    // 410 only to our completion: other notifiers on these engines get 200 and change nothing.
    const gone = await receiver((_n, r) => ({
      status: r.headers['webhook-id'] === first.completionId ? 410 : 200,
    }));
    const other = await receiver();
    const endpoint = await register(gone.url('/gone'));
    const before = await metricValue(notifier.registry, 'imgpipe_webhook_endpoints_disabled_total');

    await publisher.publish(first);
    const shown = await waitFor(
      async () => {
        const r = await api('GET', `/webhooks/${endpoint.id}`);
        return r.body.disabled === true ? r.body : undefined;
      },
      { what: 'the endpoint to be disabled' },
    );
    expect(shown.disabled_reason).toMatch(/HTTP 410 Gone/);
    expect(await metricValue(notifier.registry, 'imgpipe_webhook_endpoints_disabled_total')).toBe(
      before + 1,
    );
    const rows = await deliveryRowsOnce(db, first.requestId, 'DISABLED', {
      what: 'the delivery row',
    });
    expect(rows).toEqual([
      expect.objectContaining({
        target: endpoint.id,
        attempt: 1,
        state: 'DISABLED',
        status_code: 410,
      }),
    ]);

    // Later: a completion published after it is handled only after the first (same partition
    // order is not guaranteed across keys, so wait for it to arrive at its own receiver).
    const second = completion({ webhookUrl: other.url() });
    await publisher.publish(second);
    await waitFor(() => (other.for(second.completionId).length ? true : undefined), {
      what: 'the second completion',
    });
    // Retry waits are 1 s: by now a retry of the first would have been due as well.
    await waitFor(
      async () => ((await deliveryRows(db, second.requestId)).length > 0 ? true : undefined),
      { what: 'the second completion recorded' },
    );
    expect(gone.for(first.completionId)).toHaveLength(1);
    expect(gone.for(second.completionId)).toHaveLength(0);
    expect(await deliveryRows(db, first.requestId)).toHaveLength(1);
  });

  it('after a rotation both the old and the new secret verify the delivery', async () => {
    const hook = await receiver();
    const endpoint = await register(hook.url('/rotating'), 'rotation test');
    const rotated = await api('POST', `/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const secret = rotated.body.secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(endpoint.secret);
    const expires = Date.parse(rotated.body.previous_secret_expires_at as string);
    expect(expires - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    expect((await api('GET', `/webhooks/${endpoint.id}`)).body.previous_secret_expires_at).toBe(
      rotated.body.previous_secret_expires_at,
    );

    const event = completion({ webhookUrl: null, webhookSecret: null });
    await publisher.publish(event);
    const [got] = await waitFor(
      () => (hook.for(event.completionId).length ? hook.for(event.completionId) : undefined),
      {
        what: 'the delivery',
      },
    );
    expect(got!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(secret).verify(got!.body, got!.headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(got!.body, got!.headers)).not.toThrow();
    expect(() =>
      new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(got!.body, got!.headers),
    ).toThrow();
  });
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}
