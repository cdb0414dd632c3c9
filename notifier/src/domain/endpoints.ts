import { randomUUID } from 'node:crypto';
import { isUuid } from '@imgpipe/schemas';
import {
  DomainError,
  badEndpointId,
  endpointNotFound,
  validationError,
  type FieldProblem,
} from './errors';
import type { Clock, EndpointRepository, WebhookEndpoint } from './ports';
import { generateSecret } from './signing';
import { validateWebhookUrl, type UrlPolicy } from './webhook-url';

/** How long the old secret keeps signing after a rotation (issue 7: 24 h, like Stripe). */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
export const MAX_DESCRIPTION_LENGTH = 500;

/** An endpoint as the API shows it after creation: never the secret. */
export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  disabled: boolean;
  disabled_reason: string | null;
  /** Set while an old secret still signs alongside the current one. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export const viewEndpoint = (e: WebhookEndpoint, nowMs: number): EndpointView => ({
  id: e.id,
  url: e.url,
  description: e.description,
  disabled: e.disabled,
  disabled_reason: e.disabledReason,
  previous_secret_expires_at:
    e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt.getTime() > nowMs
      ? e.previousSecretExpiresAt.toISOString()
      : null,
  created_at: e.createdAt.toISOString(),
  updated_at: e.updatedAt.toISOString(),
});

/** The secrets that sign right now: the current one, plus the previous one within its grace. */
export function signingSecrets(e: WebhookEndpoint, nowMs: number): string[] {
  const previousValid =
    e.previousSecret !== null &&
    e.previousSecretExpiresAt !== null &&
    e.previousSecretExpiresAt.getTime() > nowMs;
  return previousValid ? [e.secret, e.previousSecret!] : [e.secret];
}

export interface EndpointServiceDeps {
  repository: EndpointRepository;
  clock: Clock;
  urlPolicy: UrlPolicy;
  /** Called after any change so caches of the endpoint list refresh (this process). */
  onChange?: () => void;
  newId?: () => string;
  newSecret?: () => string;
}

export interface EndpointService {
  register(body: unknown): Promise<EndpointView & { secret: string }>;
  list(): Promise<EndpointView[]>;
  get(id: string): Promise<EndpointView>;
  remove(id: string): Promise<void>;
  rotateSecret(
    id: string,
  ): Promise<{ id: string; secret: string; previous_secret_expires_at: string }>;
}

/** Endpoint registration (POST/GET/DELETE /webhooks, rotate-secret). */
export function createEndpointService(deps: EndpointServiceDeps): EndpointService {
  const newId = deps.newId ?? randomUUID;
  const newSecret = deps.newSecret ?? (() => generateSecret());
  const changed = () => deps.onChange?.();

  const checkedId = (id: string): string => {
    if (!isUuid(id)) throw badEndpointId(id);
    return id.toLowerCase();
  };
  const load = async (id: string): Promise<WebhookEndpoint> => {
    const endpoint = await deps.repository.get(checkedId(id));
    if (!endpoint) throw endpointNotFound(id);
    return endpoint;
  };

  return {
    async register(body) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw validationError('Expected a JSON object { "url", "description"? }', [
          { field: '(body)', problem: 'not a JSON object' },
        ]);
      }
      const fields = body as Record<string, unknown>;
      const problems: FieldProblem[] = [];
      for (const key of Object.keys(fields)) {
        if (key !== 'url' && key !== 'description') {
          problems.push({ field: key, problem: 'unknown field' });
        }
      }
      const description = fields.description;
      if (
        description !== undefined &&
        description !== null &&
        (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)
      ) {
        problems.push({
          field: 'description',
          problem: `expected a string of at most ${MAX_DESCRIPTION_LENGTH} characters`,
        });
      }
      let url: string | undefined;
      try {
        url = validateWebhookUrl(fields.url, deps.urlPolicy);
      } catch (err) {
        if (problems.length === 0) throw err;
        problems.unshift(...((err as DomainError).details as FieldProblem[]));
      }
      if (problems.length > 0 || url === undefined) {
        throw validationError(
          `Invalid webhook endpoint: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`,
          problems,
        );
      }
      const now = new Date(deps.clock.now());
      const endpoint: WebhookEndpoint = {
        id: newId(),
        url,
        description: typeof description === 'string' && description !== '' ? description : null,
        secret: newSecret(),
        previousSecret: null,
        previousSecretExpiresAt: null,
        disabled: false,
        disabledReason: null,
        createdAt: now,
        updatedAt: now,
      };
      await deps.repository.create(endpoint);
      changed();
      return { ...viewEndpoint(endpoint, now.getTime()), secret: endpoint.secret };
    },

    async list() {
      const now = deps.clock.now();
      const all = await deps.repository.list();
      return all
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
        .map((e) => viewEndpoint(e, now));
    },

    async get(id) {
      return viewEndpoint(await load(id), deps.clock.now());
    },

    async remove(id) {
      const deleted = await deps.repository.delete(checkedId(id));
      if (!deleted) throw endpointNotFound(id);
      changed();
    },

    async rotateSecret(id) {
      const endpoint = await load(id);
      const now = new Date(deps.clock.now());
      const secret = newSecret();
      const expires = new Date(now.getTime() + ROTATION_GRACE_MS);
      const applied = await deps.repository.rotateSecret(
        endpoint.id,
        endpoint.secret,
        secret,
        expires,
        now,
      );
      if (!applied) {
        throw new DomainError(
          'ERR_CONFLICT',
          'The secret was changed concurrently (another rotation or a delete); try again',
          { httpStatus: 409 },
        );
      }
      changed();
      return { id: endpoint.id, secret, previous_secret_expires_at: expires.toISOString() };
    },
  };
}
