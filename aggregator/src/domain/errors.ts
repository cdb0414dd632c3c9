/**
 * Domain errors. They carry a stable `code` and `retriable` like every ImgpipeError, so the
 * bus handler and the HTTP layer classify them by code (../shared/STYLE.md, "Errors") without
 * the domain importing the platform runtime.
 */
export class InvalidEventError extends Error {
  readonly code = 'ERR_INVALID_EVENT';
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}
