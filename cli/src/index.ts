/**
 * `@imgpipe/cli` as a library: the same commands as `npx imgpipe`, for scripts that prefer a
 * function call (run() with their own deps) or only want the HTTP client.
 */
export { run } from './run';
export { parseCommandLine, DEFAULT_BASE_URL, defaultOutPath, type Invocation } from './args';
export { ExitCode, EXIT_CODE_TABLE, type ExitCodeValue } from './exit-codes';
export { createHttpApi, type HttpApiOptions } from './http-api';
export type * from './api';
export type { CliDeps, LocalFiles, TextSink } from './deps';
