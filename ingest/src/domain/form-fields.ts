import { OUTPUT_FORMATS, type CompressionOptions, type OutputFormat } from '@imgpipe/schemas';
import type { FieldProblem } from './errors';
import { UploadCodes, UploadError, excerpt } from './errors';
import { urlProblem } from './csv/row';

/** The form fields POST /upload reads besides `file`. */
export const FORM_FIELDS = ['webhook_url', 'email', 'quality', 'format', 'max_dimension'] as const;
export type FormFieldName = (typeof FORM_FIELDS)[number];

export interface UploadOptions {
  compression: CompressionOptions;
  webhookUrl: string | null;
  email: string | null;
}

export const DEFAULT_QUALITY = 50;
export const MAX_DIMENSION_LIMIT = 16_384;
const MAX_WEBHOOK_URL_LENGTH = 2_048;
// Deliberately loose (RFC 5322 is not worth enforcing): one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const FORMAT_ALIASES: Readonly<Record<string, OutputFormat>> = { jpg: 'jpeg' };

/**
 * Validates the form fields. Every bad field is reported at once. Empty values mean "not
 * given" (HTML forms send empty inputs); unknown fields are rejected so that a typo such as
 * `webhookUrl` is not silently ignored.
 */
export function parseFormFields(fields: ReadonlyMap<string, readonly string[]>): UploadOptions {
  const problems: FieldProblem[] = [];
  const unknown: FieldProblem[] = [];
  const value = (name: FormFieldName): string | undefined => {
    const values = fields.get(name);
    if (values === undefined) return undefined;
    if (values.length > 1) {
      problems.push({
        field: name,
        value: null,
        problem: `given ${values.length} times; give it once`,
      });
      return undefined;
    }
    const v = values[0]!.trim();
    return v === '' ? undefined : v;
  };
  for (const [name, values] of fields) {
    if (!(FORM_FIELDS as readonly string[]).includes(name)) {
      unknown.push({
        field: name,
        value: excerpt(values[0] ?? ''),
        problem: `unknown field; accepted fields are file, ${FORM_FIELDS.join(', ')}`,
      });
    }
  }

  let quality = DEFAULT_QUALITY;
  const q = value('quality');
  if (q !== undefined) {
    if (/^\d{1,3}$/.test(q) && Number(q) >= 1 && Number(q) <= 100) quality = Number(q);
    else
      problems.push({
        field: 'quality',
        value: excerpt(q),
        problem: 'must be a whole number from 1 to 100',
      });
  }

  let format: OutputFormat = 'keep';
  const f = value('format');
  if (f !== undefined) {
    const lower = f.toLowerCase();
    const chosen = FORMAT_ALIASES[lower] ?? OUTPUT_FORMATS.find((x) => x === lower);
    if (chosen !== undefined) format = chosen;
    else
      problems.push({
        field: 'format',
        value: excerpt(f),
        problem: `must be one of ${OUTPUT_FORMATS.join(', ')}`,
      });
  }

  let maxDimension: number | null = null;
  const d = value('max_dimension');
  if (d !== undefined) {
    if (/^\d{1,5}$/.test(d) && Number(d) >= 1 && Number(d) <= MAX_DIMENSION_LIMIT)
      maxDimension = Number(d);
    else {
      problems.push({
        field: 'max_dimension',
        value: excerpt(d),
        problem: `must be a whole number of pixels from 1 to ${MAX_DIMENSION_LIMIT}`,
      });
    }
  }

  let webhookUrl: string | null = null;
  const w = value('webhook_url');
  if (w !== undefined) {
    const problem = urlProblem(w, MAX_WEBHOOK_URL_LENGTH);
    if (problem === undefined) webhookUrl = w;
    else problems.push({ field: 'webhook_url', value: excerpt(w), problem });
  }

  let email: string | null = null;
  const e = value('email');
  if (e !== undefined) {
    if (e.length <= 254 && EMAIL.test(e)) email = e;
    else problems.push({ field: 'email', value: excerpt(e), problem: 'not a valid email address' });
  }

  if (unknown.length > 0) {
    throw new UploadError(
      400,
      UploadCodes.fieldUnknown,
      `Unknown form field${unknown.length === 1 ? '' : 's'}: ${unknown.map((u) => u.field).join(', ')}`,
      [...unknown, ...problems],
    );
  }
  if (problems.length > 0) {
    throw new UploadError(
      400,
      UploadCodes.fieldInvalid,
      `Invalid form field${problems.length === 1 ? '' : 's'}: ${[...new Set(problems.map((p) => p.field))].join(', ')}`,
      problems,
    );
  }
  return { compression: { quality, format, maxDimension }, webhookUrl, email };
}

/** Idempotency-Key: 1–255 printable ASCII characters (the usual limit, e.g. Stripe's). */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header.join(',') : header;
  const key = raw.trim();
  if (key.length >= 1 && key.length <= 255 && /^[\x20-\x7e]+$/.test(key)) return key;
  throw new UploadError(
    400,
    UploadCodes.idempotencyKeyInvalid,
    'Idempotency-Key must be 1 to 255 printable ASCII characters',
    [
      {
        field: 'Idempotency-Key',
        value: excerpt(raw),
        problem: 'must be 1 to 255 printable ASCII characters',
      },
    ],
  );
}
