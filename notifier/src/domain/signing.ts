/**
 * Standard Webhooks signing (standard-webhooks/standard-webhooks:spec/standard-webhooks.md,
 * v1 symmetric scheme): `webhook-signature` is a space-separated list of `v1,<base64>` where
 * each value is HMAC-SHA256(key, `${id}.${timestamp}.${body}`) and the key is the base64 part of
 * a `whsec_…` secret. During a secret rotation both secrets sign, so a receiver that still has
 * the old one (or already the new one) verifies the same request.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { DomainError } from './errors';

export const SECRET_PREFIX = 'whsec_';
/** 32 random bytes: the spec asks for 24 to 64. */
export const SECRET_BYTES = 32;

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(random: (size: number) => Buffer = randomBytes): string {
  return `${SECRET_PREFIX}${random(SECRET_BYTES).toString('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key inside a `whsec_` secret; throws on anything else (never signs with garbage). */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : '';
  const key = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (key.length < 24 || key.length > 64) {
    throw new DomainError(
      'ERR_WEBHOOK_SECRET',
      'Webhook secret must be whsec_ + base64 of 24–64 bytes',
    );
  }
  return key;
}

export const isValidSecret = (secret: string): boolean => {
  try {
    secretKey(secret);
    return true;
  } catch {
    return false;
  }
};

/** One `v1,<base64>` signature of `${id}.${timestampSeconds}.${body}`. */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestampSeconds}.${body}`, 'utf8')
    .digest('base64');
  return `v1,${mac}`;
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * The three Standard Webhooks headers for one attempt. `secrets` lists every secret that
 * currently signs (the new one first during a rotation). The id must not contain `.`: it is
 * the completion id (a UUID), never user input.
 */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): SignedHeaders {
  if (secrets.length === 0) {
    throw new DomainError('ERR_WEBHOOK_SECRET', 'No secret to sign the webhook with');
  }
  if (id.includes('.')) throw new DomainError('ERR_WEBHOOK_ID', 'webhook-id must not contain "."');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => sign(s, id, timestampSeconds, body)).join(' '),
  };
}
