import { parseAllowCidrs } from '@imgpipe/platform';
import { ROTATION_GRACE_MS, createEndpointService, signingSecrets } from './endpoints';
import type { EndpointRepository, WebhookEndpoint } from './ports';

function memoryRepo(): EndpointRepository & { rows: Map<string, WebhookEndpoint> } {
  const rows = new Map<string, WebhookEndpoint>();
  return {
    rows,
    create: (e) => Promise.resolve(void rows.set(e.id, { ...e })),
    list: () => Promise.resolve([...rows.values()]),
    get: (id) => Promise.resolve(rows.get(id)),
    delete: (id) => Promise.resolve(rows.delete(id)),
    rotateSecret(id, expected, secret, expires, now) {
      const e = rows.get(id);
      if (!e || e.secret !== expected) return Promise.resolve(false);
      Object.assign(e, {
        previousSecret: e.secret,
        secret,
        previousSecretExpiresAt: expires,
        updatedAt: now,
      });
      return Promise.resolve(true);
    },
    disable: () => Promise.resolve(),
  };
}

const setup = (allow = '', requireHttps = false) => {
  let now = Date.parse('2026-03-01T00:00:00Z');
  const repo = memoryRepo();
  let changes = 0;
  let ids = 0;
  const service = createEndpointService({
    repository: repo,
    clock: { now: () => now },
    urlPolicy: { allow: parseAllowCidrs(allow), requireHttps },
    onChange: () => void (changes += 1),
    newId: () => `00000000-0000-4000-8000-00000000000${++ids}`,
  });
  return { service, repo, changes: () => changes, advance: (ms: number) => (now += ms) };
};

describe('endpoint registration', () => {
  it('creates an endpoint and shows the secret only once', async () => {
    const t = setup();
    const created = await t.service.register({
      url: 'https://hooks.example.com/a',
      description: 'ops',
    });
    expect(created).toMatchObject({
      id: '00000000-0000-4000-8000-000000000001',
      url: 'https://hooks.example.com/a',
      description: 'ops',
      disabled: false,
      created_at: '2026-03-01T00:00:00.000Z',
    });
    expect(created.secret).toMatch(/^whsec_/);
    const shown = await t.service.get(created.id);
    expect(shown).not.toHaveProperty('secret');
    expect(await t.service.list()).toEqual([shown]);
    expect(t.changes()).toBe(1);
  });

  it.each([
    [undefined, 'expected an absolute http(s) URL'],
    ['', 'expected an absolute http(s) URL'],
    [42, 'expected an absolute http(s) URL'],
    ['hooks.example.com/x', 'not an absolute URL'],
    ['ftp://hooks.example.com/x', 'scheme ftp is not http or https'],
    ['https://user:pw@hooks.example.com/', 'credentials in the URL are not allowed'],
    ['https://hooks.example.com/#frag', 'a fragment is never sent'],
    ['http://127.0.0.1:9000/hook', 'not allowed (loopback)'],
    ['http://169.254.169.254/latest', 'not allowed (linkLocal)'],
    ['http://[::1]/x', 'not allowed (loopback)'],
    [`https://hooks.example.com/${'a'.repeat(2100)}`, 'longer than 2048 characters'],
  ])('refuses url %j: %s', async (url, problem) => {
    const t = setup();
    await expect(t.service.register({ url })).rejects.toMatchObject({
      code: 'ERR_WEBHOOK_URL',
      httpStatus: 400,
      message: expect.stringContaining(problem) as unknown,
      details: [expect.objectContaining({ field: 'url' })],
    });
    expect(t.repo.rows.size).toBe(0);
  });

  it('admits a private address the allow-list names', async () => {
    const t = setup('127.0.0.0/8');
    await expect(t.service.register({ url: 'http://127.0.0.1:9000/hook' })).resolves.toBeDefined();
  });

  it('can require https', async () => {
    const t = setup('', true);
    await expect(t.service.register({ url: 'http://hooks.example.com/' })).rejects.toMatchObject({
      message: expect.stringContaining('only https') as unknown,
    });
  });

  it('lists every problem of a body at once', async () => {
    const t = setup();
    await expect(
      t.service.register({ url: 'nope', description: 7, secret: 'mine' }),
    ).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      httpStatus: 400,
      details: [
        expect.objectContaining({ field: 'url' }),
        expect.objectContaining({ field: 'secret', problem: 'unknown field' }),
        expect.objectContaining({ field: 'description' }),
      ],
    });
    await expect(t.service.register([])).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(t.service.register(undefined)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });

  it('404 for an unknown id, 400 for a malformed one', async () => {
    const t = setup();
    await expect(t.service.get('00000000-0000-4000-8000-0000000000ff')).rejects.toMatchObject({
      code: 'ERR_WEBHOOK_NOT_FOUND',
      httpStatus: 404,
    });
    await expect(t.service.remove('not-a-uuid')).rejects.toMatchObject({
      code: 'ERR_BAD_ID',
      httpStatus: 400,
    });
  });

  it('deletes', async () => {
    const t = setup();
    const { id } = await t.service.register({ url: 'https://hooks.example.com/a' });
    await t.service.remove(id);
    await expect(t.service.get(id)).rejects.toMatchObject({ httpStatus: 404 });
    await expect(t.service.remove(id)).rejects.toMatchObject({ httpStatus: 404 });
  });

  it('rotation keeps the old secret signing for 24 h', async () => {
    const t = setup();
    const created = await t.service.register({ url: 'https://hooks.example.com/a' });
    const rotated = await t.service.rotateSecret(created.id);
    expect(rotated.secret).not.toBe(created.secret);
    expect(rotated.previous_secret_expires_at).toBe('2026-03-02T00:00:00.000Z');
    const row = t.repo.rows.get(created.id)!;
    const now = Date.parse('2026-03-01T00:00:00Z');
    expect(signingSecrets(row, now)).toEqual([rotated.secret, created.secret]);
    expect(signingSecrets(row, now + ROTATION_GRACE_MS)).toEqual([rotated.secret]);
    expect((await t.service.get(created.id)).previous_secret_expires_at).toBe(
      '2026-03-02T00:00:00.000Z',
    );
  });
});
