/**
 * Command line → a validated invocation, or a usage error that says what is wrong. Pure (argv
 * and env in, value out), so every rule is unit-tested. Values are checked here, before any
 * request, with the server's own rules (ingest/src/domain/form-fields.ts), so a typo fails in
 * a millisecond with exit code 2 instead of after an upload; the server still checks again.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { UploadFields } from './api';

export const COMMANDS = ['upload', 'status', 'download'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_UPLOAD_RETRIES = 2;
const MAX_UPLOAD_RETRIES = 10;

// The server's limits (ingest/src/domain/form-fields.ts, schemas OUTPUT_FORMATS). Repeated
// here rather than imported: the CLI talks HTTP only and must not depend on the services.
const FORMATS = ['keep', 'jpeg', 'webp', 'avif'] as const;
const FORMAT_ALIASES: Readonly<Record<string, string>> = { jpg: 'jpeg' };
const MAX_DIMENSION = 16_384;
const MAX_WEBHOOK_URL_LENGTH = 2_048;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface UploadInvocation {
  command: 'upload';
  baseUrl: string;
  file: string;
  fields: UploadFields;
  idempotencyKey?: string;
  wait: boolean;
  /** Where `--wait` writes the output CSV; undefined → {@link defaultOutPath}. */
  out?: string;
  /** How many times a 503 (or a 409 "in progress") is retried after its Retry-After. */
  retries: number;
}

export interface StatusInvocation {
  command: 'status';
  baseUrl: string;
  requestId: string;
  json: boolean;
  images: boolean;
}

export interface DownloadInvocation {
  command: 'download';
  baseUrl: string;
  requestId: string;
  out?: string;
}

export type Invocation =
  | { command: 'help'; topic?: CommandName }
  | { command: 'version' }
  | UploadInvocation
  | StatusInvocation
  | DownloadInvocation;

export type ParseResult =
  | { ok: true; invocation: Invocation }
  /** `topic`: the command whose help the message should point at. */
  | { ok: false; message: string; topic?: CommandName };

/**
 * Default output CSV name for `upload --wait` and `download`: the same name the server's
 * Content-Disposition gives (`curl -OJ` and the web page's download button agree), unique per
 * request, so a second run never overwrites the first.
 */
export const defaultOutPath = (requestId: string): string => `imgpipe-${requestId}.csv`;

const URL_OPTION = { url: { type: 'string' } } as const;
const OPTIONS = {
  upload: {
    ...URL_OPTION,
    webhook: { type: 'string' },
    email: { type: 'string' },
    quality: { type: 'string' },
    format: { type: 'string' },
    'max-dimension': { type: 'string' },
    'idempotency-key': { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
    out: { type: 'string', short: 'o' },
    retry: { type: 'string' },
  },
  status: { ...URL_OPTION, json: { type: 'boolean' }, images: { type: 'boolean' } },
  download: { ...URL_OPTION, out: { type: 'string', short: 'o' } },
} as const satisfies Record<CommandName, ParseArgsConfig['options']>;

class Usage extends Error {}
const usage = (message: string): never => {
  throw new Usage(message);
};

/** Edit distance, for "did you mean" on a mistyped command. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[b.length]!;
}

export function suggestCommand(typed: string): CommandName | undefined {
  const lower = typed.toLowerCase();
  return (
    COMMANDS.find((c) => c.startsWith(lower) && lower.length >= 2) ??
    COMMANDS.find((c) => distance(c, lower) <= 2)
  );
}

/** --url, else IMGPIPE_URL, else the local stack; an http(s) URL without query or fragment. */
export function resolveBaseUrl(flag: string | undefined, envValue: string | undefined): string {
  const [source, raw] =
    flag !== undefined
      ? ['--url', flag]
      : envValue !== undefined && envValue.trim() !== ''
        ? ['IMGPIPE_URL', envValue]
        : ['default', DEFAULT_BASE_URL];
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return usage(
      `${source} must be an http(s) URL such as ${DEFAULT_BASE_URL}, got ${JSON.stringify(raw)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    usage(`${source} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  if (url.search || url.hash)
    usage(`${source} must be a base URL without ?query or #fragment, got ${JSON.stringify(raw)}`);
  // A path prefix (imgpipe behind a gateway at /imgpipe) is kept; routes are appended to it.
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') usage(`--${name} needs a value`);
  return value.trim();
}

function wholeNumber(name: string, value: string | undefined, min: number, max: number) {
  const v = nonEmpty(name, value);
  if (v === undefined) return undefined;
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max)
    usage(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseFormat(value: string | undefined): string | undefined {
  const v = nonEmpty('format', value)?.toLowerCase();
  if (v === undefined) return undefined;
  const format = FORMAT_ALIASES[v] ?? FORMATS.find((f) => f === v);
  if (format === undefined)
    usage(`--format must be one of ${FORMATS.join(', ')} (or jpg), got ${JSON.stringify(value)}`);
  return format;
}

function parseWebhook(value: string | undefined): string | undefined {
  const v = nonEmpty('webhook', value);
  if (v === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(v);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || /\s/.test(v))
    usage(`--webhook must be an absolute http(s) URL, got ${JSON.stringify(v)}`);
  if (v.length > MAX_WEBHOOK_URL_LENGTH)
    usage(`--webhook is ${v.length} characters long; the limit is ${MAX_WEBHOOK_URL_LENGTH}`);
  return v;
}

function parseEmail(value: string | undefined): string | undefined {
  const v = nonEmpty('email', value);
  if (v !== undefined && (v.length > 254 || !EMAIL.test(v)))
    usage(`--email must be an email address, got ${JSON.stringify(v)}`);
  return v;
}

function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = value.trim();
  if (key.length < 1 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key))
    usage('--idempotency-key must be 1 to 255 printable ASCII characters');
  return key;
}

function parseRequestId(positionals: string[], command: CommandName): string {
  if (positionals.length === 0) usage(`${command} needs a request id: imgpipe ${command} <id>`);
  if (positionals.length > 1)
    usage(`${command} takes one request id, got ${positionals.length}: ${positionals.join(' ')}`);
  const id = positionals[0]!.trim();
  if (!UUID.test(id))
    usage(
      `request id must be a UUID like 0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70, got ${JSON.stringify(id)}`,
    );
  return id.toLowerCase();
}

/** util.parseArgs' messages, in our words and naming the command's help. */
function parseFailure(err: unknown, command: CommandName): string {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  // "Option '-w, --wait' does not take…", "Option '--quality <value>' argument missing": the long name.
  const option = /'(?:-\w, )?(-{1,2}[^'\s]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return `unknown option ${option ?? ''} for imgpipe ${command}`.trimEnd();
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return option && /argument missing/.test(message)
      ? `${option} needs a value`
      : `${option ?? 'an option'} does not take a value`;
  return message;
}

function parseCommand(command: CommandName, args: string[], env: Env): Invocation {
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: OPTIONS[command],
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    return usage(parseFailure(err, command));
  }
  const str = (name: string) => values[name] as string | undefined;
  const baseUrl = resolveBaseUrl(str('url'), env.IMGPIPE_URL);
  switch (command) {
    case 'upload': {
      if (positionals.length === 0) usage('upload needs the CSV file: imgpipe upload <file.csv>');
      if (positionals.length > 1)
        usage(`upload takes one CSV file, got ${positionals.length}: ${positionals.join(' ')}`);
      const file = positionals[0]!;
      if (file.trim() === '') usage('upload needs the CSV file: imgpipe upload <file.csv>');
      const wait = values.wait === true;
      const out = nonEmpty('out', str('out'));
      if (out !== undefined && !wait)
        usage(
          '--out is written once the request is done: add --wait, or later run imgpipe download <id> --out FILE',
        );
      const quality = wholeNumber('quality', str('quality'), 1, 100);
      const maxDimension = wholeNumber('max-dimension', str('max-dimension'), 1, MAX_DIMENSION);
      const retries = wholeNumber('retry', str('retry'), 0, MAX_UPLOAD_RETRIES);
      const fields: UploadFields = {};
      const webhook = parseWebhook(str('webhook'));
      const email = parseEmail(str('email'));
      const format = parseFormat(str('format'));
      if (webhook !== undefined) fields.webhook_url = webhook;
      if (email !== undefined) fields.email = email;
      if (quality !== undefined) fields.quality = String(quality);
      if (format !== undefined) fields.format = format;
      if (maxDimension !== undefined) fields.max_dimension = String(maxDimension);
      const idempotencyKey = parseIdempotencyKey(str('idempotency-key'));
      return {
        command,
        baseUrl,
        file,
        fields,
        wait,
        retries: retries ?? DEFAULT_UPLOAD_RETRIES,
        ...(out === undefined ? {} : { out }),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      };
    }
    case 'status':
      return {
        command,
        baseUrl,
        requestId: parseRequestId(positionals, command),
        json: values.json === true,
        images: values.images === true,
      };
    case 'download': {
      const out = nonEmpty('out', str('out'));
      return {
        command,
        baseUrl,
        requestId: parseRequestId(positionals, command),
        ...(out === undefined ? {} : { out }),
      };
    }
  }
}

export interface Env {
  IMGPIPE_URL?: string;
}

const isCommand = (s: string | undefined): s is CommandName =>
  (COMMANDS as readonly string[]).includes(s ?? '');

/** Everything before a bare `--` (after it, `-h` is a file name, not a flag). */
const flagsPart = (args: readonly string[]) => {
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
};

export function parseCommandLine(argv: readonly string[], env: Env): ParseResult {
  const [first, ...rest] = argv;
  if (first === undefined) return { ok: false, message: 'no command given' };
  if (first === '-h' || first === '--help') return { ok: true, invocation: { command: 'help' } };
  if (first === '-V' || first === '--version')
    return { ok: true, invocation: { command: 'version' } };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { ok: true, invocation: { command: 'help' } };
    if (isCommand(topic)) return { ok: true, invocation: { command: 'help', topic } };
    return {
      ok: false,
      message: `no help for ${JSON.stringify(topic)}: commands are ${COMMANDS.join(', ')}`,
    };
  }
  if (!isCommand(first)) {
    if (first.startsWith('-'))
      return {
        ok: false,
        message: `the command comes first: imgpipe <${COMMANDS.join('|')}> [options] (got ${first})`,
      };
    const suggestion = suggestCommand(first);
    return {
      ok: false,
      message: `unknown command ${JSON.stringify(first)}${suggestion ? `; did you mean ${suggestion}?` : `: commands are ${COMMANDS.join(', ')}`}`,
    };
  }
  // --help wins over everything else on the line: asking for help must not fail on a typo.
  if (flagsPart(rest).some((a) => a === '-h' || a === '--help'))
    return { ok: true, invocation: { command: 'help', topic: first } };
  try {
    return { ok: true, invocation: parseCommand(first, rest, env) };
  } catch (err) {
    if (err instanceof Usage) return { ok: false, message: err.message, topic: first };
    throw err;
  }
}
