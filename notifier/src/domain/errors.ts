import { ImgpipeError, type ErrorOptions } from '@imgpipe/platform';

/** The notifier's error catalogue: stable codes, HTTP status where a client caused it. */
export class DomainError extends ImgpipeError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = 'NotifierError';
  }
}

/** One problem with a request field, as listed in `error.details`. */
export interface FieldProblem {
  field: string;
  problem: string;
  value?: unknown;
}

export const validationError = (message: string, details: FieldProblem[]): DomainError =>
  new DomainError('ERR_VALIDATION', message, { httpStatus: 400, details });

export const invalidWebhookUrl = (value: unknown, problem: string): DomainError =>
  new DomainError('ERR_WEBHOOK_URL', `Invalid webhook url: ${problem}`, {
    httpStatus: 400,
    details: [{ field: 'url', problem, value }],
  });

export const endpointNotFound = (id: string): DomainError =>
  new DomainError('ERR_WEBHOOK_NOT_FOUND', `No webhook endpoint ${id}`, { httpStatus: 404 });

export const badEndpointId = (id: string): DomainError =>
  new DomainError('ERR_BAD_ID', `Webhook endpoint id must be a UUID (got ${JSON.stringify(id)})`, {
    httpStatus: 400,
    details: [{ field: 'id', problem: 'not a UUID', value: id }],
  });
