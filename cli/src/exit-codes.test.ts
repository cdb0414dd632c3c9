import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiFailure } from './api';
import {
  EXIT_CODE_TABLE,
  ExitCode,
  exitCodeForFailure,
  exitCodeForFinalStatus,
} from './exit-codes';

const http = (status: number, code: string): ApiFailure => ({
  kind: 'http',
  url: 'u',
  status,
  code,
  message: 'm',
  imgpipeShape: true,
});

it('maps each kind of failure to its exit code', () => {
  expect(exitCodeForFailure(http(422, 'ERR_CSV_INVALID'))).toBe(ExitCode.rejected);
  expect(exitCodeForFailure(http(404, 'ERR_REQUEST_NOT_FOUND'))).toBe(ExitCode.rejected);
  expect(exitCodeForFailure(http(409, 'ERR_IDEMPOTENCY_KEY_REUSED'))).toBe(ExitCode.rejected);
  expect(exitCodeForFailure(http(409, 'ERR_REQUEST_NOT_DONE'))).toBe(ExitCode.notDone);
  expect(exitCodeForFailure(http(503, 'ERR_QUEUE_UNAVAILABLE'))).toBe(ExitCode.unavailable);
  expect(exitCodeForFailure(http(502, 'HTTP_502'))).toBe(ExitCode.unavailable);
  expect(exitCodeForFailure({ kind: 'network', url: 'u', reason: 'r' })).toBe(ExitCode.unavailable);
  expect(exitCodeForFailure({ kind: 'protocol', url: 'u', status: 200, reason: 'r' })).toBe(
    ExitCode.error,
  );
  expect(exitCodeForFailure({ kind: 'aborted', url: 'u' })).toBe(ExitCode.interrupted);
});

it('succeeds for COMPLETED and COMPLETED_WITH_ERRORS, not for FAILED', () => {
  expect(exitCodeForFinalStatus('COMPLETED')).toBe(0);
  expect(exitCodeForFinalStatus('COMPLETED_WITH_ERRORS')).toBe(0);
  expect(exitCodeForFinalStatus('FAILED')).toBe(ExitCode.requestFailed);
});

it('every code has one distinct number and one line in the table', () => {
  const numbers = Object.values(ExitCode);
  expect(new Set(numbers).size).toBe(numbers.length);
  expect(EXIT_CODE_TABLE.map((r) => r.code)).toEqual(numbers);
});

it('cli/README.md documents exactly these exit codes', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Exit codes'));
  const documented = [...section.matchAll(/^\| `(\d+)` +\|/gm)].map((m) => Number(m[1]));
  expect(documented).toEqual(Object.values(ExitCode));
});
