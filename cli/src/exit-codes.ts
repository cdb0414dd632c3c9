/**
 * The CLI's exit codes: a contract scripts branch on, so each number keeps its meaning. One
 * table serves the code, `imgpipe --help` and (checked by a test) cli/README.md.
 */
import type { ApiFailure } from './api';

export const ExitCode = {
  /** Done: COMPLETED, or COMPLETED_WITH_ERRORS (with a warning), or the command did its job. */
  ok: 0,
  /** Something else went wrong: the output file could not be written, an unexpected answer. */
  error: 1,
  /** Bad command line: unknown command or option, invalid value, missing file. Nothing sent. */
  usage: 2,
  /** imgpipe refused the request (4xx): invalid CSV or field, unknown request id. */
  rejected: 3,
  /** The request ended FAILED: no image could be compressed. */
  requestFailed: 4,
  /** The request is not done yet, so it has no output CSV (download before completion). */
  notDone: 5,
  /** imgpipe could not be reached, or answered 5xx/503 (after any retries). */
  unavailable: 6,
  /** Interrupted (Ctrl-C); a request already accepted keeps running on the server. */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** One line per code, for `--help` and the README (the test keeps the two in step). */
export const EXIT_CODE_TABLE: readonly { code: ExitCodeValue; meaning: string }[] = [
  { code: ExitCode.ok, meaning: 'done: COMPLETED, or COMPLETED_WITH_ERRORS (with a warning)' },
  { code: ExitCode.error, meaning: 'other error (output file not writable, unexpected answer)' },
  { code: ExitCode.usage, meaning: 'usage error: bad command, option or value; nothing was sent' },
  { code: ExitCode.rejected, meaning: 'rejected by imgpipe (4xx): invalid CSV, unknown id' },
  { code: ExitCode.requestFailed, meaning: 'the request ended FAILED (no image compressed)' },
  { code: ExitCode.notDone, meaning: 'the request is not done yet (no output CSV)' },
  { code: ExitCode.unavailable, meaning: 'imgpipe unreachable or unavailable (network, 5xx)' },
  { code: ExitCode.interrupted, meaning: 'interrupted (Ctrl-C); the request keeps running' },
];

/** Exit code for a call that did not succeed. */
export function exitCodeForFailure(failure: ApiFailure): ExitCodeValue {
  switch (failure.kind) {
    case 'aborted':
      return ExitCode.interrupted;
    case 'network':
      return ExitCode.unavailable;
    case 'protocol':
      return ExitCode.error;
    case 'http':
      if (failure.code === 'ERR_REQUEST_NOT_DONE') return ExitCode.notDone;
      if (failure.status >= 500) return ExitCode.unavailable;
      return ExitCode.rejected;
  }
}

/** Exit code once a request is final (`upload --wait`). */
export const exitCodeForFinalStatus = (status: string): ExitCodeValue =>
  status === 'FAILED' ? ExitCode.requestFailed : ExitCode.ok;
