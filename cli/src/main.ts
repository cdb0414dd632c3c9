/**
 * `imgpipe` entry point (cli/bin/imgpipe.js loads it): the only file that reads process.env
 * and argv or installs signal handlers. Wires the real adapters into run().
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ExitCode } from './exit-codes';
import { createHttpApi } from './http-api';
import { createLocalFiles } from './local-files';
import { createLineView } from './progress';
import { createBarView } from './progress-bar';
import { run } from './run';

// src/ and dist/ are both one level below cli/, so this works run from either.
const { version } = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'),
) as { version: string };

// First Ctrl-C: abort what is in flight; the command then says how to resume (an accepted
// request keeps running server-side). A second Ctrl-C: the user means it, exit now.
const interrupt = new AbortController();
const onSignal = () => {
  if (interrupt.signal.aborted) process.exit(ExitCode.interrupted);
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// `imgpipe status <id> | head -1` closes the pipe early; that is not an error worth a trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
  throw err;
});

const now = () => Date.now();
const stderrIsTty = process.stderr.isTTY === true;

run(process.argv.slice(2), process.env, {
  api: (baseUrl) =>
    createHttpApi({ baseUrl, userAgent: `imgpipe-cli/${version} node/${process.version}` }),
  stdout: process.stdout,
  stderr: process.stderr,
  progressView: () =>
    stderrIsTty
      ? createBarView({ stream: process.stderr, now })
      : createLineView({ write: (text) => process.stderr.write(text), now }),
  files: createLocalFiles(process.stdout),
  now,
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
  signal: interrupt.signal,
  version,
  pollIntervalMs: 1_000,
  pollPatienceMs: 120_000,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `imgpipe: unexpected error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = ExitCode.error;
  },
);
