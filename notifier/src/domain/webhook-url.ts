import { assertHostAllowed, type AllowList } from '@imgpipe/platform';
import { invalidWebhookUrl } from './errors';

export const MAX_URL_LENGTH = 2048;

export interface UrlPolicy {
  /** Private-address allow-list (FETCH_ALLOW_CIDRS); empty in production. */
  allow: AllowList;
  /** Refuse plain http (WEBHOOK_REQUIRE_HTTPS). */
  requireHttps: boolean;
}

/**
 * Validates a webhook URL at registration, so an obviously unusable target is a 400 now rather
 * than ten failed attempts over three days. IP literals are checked against the private-address
 * guard here; host names are checked again at every attempt, on the address actually dialled.
 * Returns the normalised URL.
 */
export function validateWebhookUrl(raw: unknown, policy: UrlPolicy): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw invalidWebhookUrl(raw, 'expected an absolute http(s) URL');
  }
  if (raw.length > MAX_URL_LENGTH) {
    throw invalidWebhookUrl(raw.slice(0, 80), `longer than ${MAX_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw invalidWebhookUrl(raw, 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidWebhookUrl(raw, `scheme ${url.protocol.replace(':', '')} is not http or https`);
  }
  if (policy.requireHttps && url.protocol !== 'https:') {
    throw invalidWebhookUrl(raw, 'only https URLs are accepted');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidWebhookUrl(
      raw,
      'credentials in the URL are not allowed (the signature authenticates us)',
    );
  }
  if (url.hash !== '') throw invalidWebhookUrl(raw, 'a fragment is never sent; remove it');
  try {
    assertHostAllowed(url.hostname, policy.allow);
  } catch (err) {
    throw invalidWebhookUrl(raw, (err as Error).message);
  }
  return url.toString();
}
