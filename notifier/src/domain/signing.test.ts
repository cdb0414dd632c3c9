import { Webhook } from 'standardwebhooks';
import { generateSecret, isValidSecret, secretKey, sign, signedHeaders } from './signing';

const id = '2f1e0c5a-8d7b-5e4f-9a3b-1c2d3e4f5a6b';
const body = JSON.stringify({ type: 'request.completed', data: { request_id: 'x' } });
const nowS = () => Math.floor(Date.now() / 1000);

describe('Standard Webhooks signing, checked by the reference verifier (standardwebhooks)', () => {
  const secret = generateSecret();

  it('signs so that Webhook.verify accepts the raw body', () => {
    const headers = signedHeaders([secret], id, nowS(), body);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('fails verification when one body byte changes', () => {
    const headers = signedHeaders([secret], id, nowS(), body);
    const tampered = body.replace('"x"', '"y"');
    expect(() => new Webhook(secret).verify(tampered, { ...headers })).toThrow(
      'No matching signature found',
    );
  });

  it('fails verification with a wrong secret', () => {
    const headers = signedHeaders([secret], id, nowS(), body);
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow(
      'No matching signature found',
    );
  });

  it.each([
    ['301 s old', -301, 'Message timestamp too old'],
    ['301 s in the future', 301, 'Message timestamp too new'],
  ])('fails verification with a timestamp %s', (_label, offset, message) => {
    const headers = signedHeaders([secret], id, nowS() + offset, body);
    expect(() => new Webhook(secret).verify(body, { ...headers })).toThrow(message);
  });

  it('sends two signatures during a rotation; either secret verifies', () => {
    const next = generateSecret();
    const headers = signedHeaders([next, secret], id, nowS(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(next).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow();
  });

  it('matches the reference implementation byte for byte', () => {
    const ts = 1_700_000_000;
    const reference = new Webhook(secret).sign(id, new Date(ts * 1000), body);
    expect(sign(secret, id, ts, body)).toBe(reference);
  });
});

describe('secrets', () => {
  it('are whsec_ + base64 of 32 random bytes, unique', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKey(a)).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it.each(['', 'whsec_', 'nope', 'whsec_c2hvcnQ=', `whsec_${'!'.repeat(44)}`])(
    'refuses to sign with %j',
    (bad) => {
      expect(isValidSecret(bad)).toBe(false);
      expect(() => sign(bad, id, 1, body)).toThrow(/whsec_ \+ base64 of 24–64 bytes/);
    },
  );

  it('refuses ids containing a dot and an empty secret list', () => {
    expect(() => signedHeaders([generateSecret()], 'a.b', 1, body)).toThrow(/webhook-id/);
    expect(() => signedHeaders([], id, 1, body)).toThrow(/No secret/);
  });
});
