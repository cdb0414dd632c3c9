/** Runs the real ingest HTTP app in-process on 127.0.0.1:0 with in-memory port fakes (unit tests). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '@imgpipe/platform';
import { createIngest, type Ingest } from '../app';
import { loadConfig } from '../config';
import { FakePublisher, MemoryIdempotencyStore, MemoryInputStore } from './fakes';

export interface FakeIngest {
  ingest: Ingest;
  url: string;
  publisher: FakePublisher;
  inputs: MemoryInputStore;
  idempotency: MemoryIdempotencyStore;
  /** Files left in the spool directory (should always be none between requests). */
  spooled(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startWithFakes(env: Record<string, string> = {}): Promise<FakeIngest> {
  const spoolDir = await mkdtemp(path.join(tmpdir(), 'imgpipe-ingest-unit-'));
  const config = loadConfig({
    HTTP_PORT: '0',
    UPLOAD_SPOOL_DIR: spoolDir,
    PUBLIC_BASE_URL: 'http://edge.example',
    ...env,
  });
  const publisher = new FakePublisher();
  const inputs = new MemoryInputStore();
  const idempotency = new MemoryIdempotencyStore();
  const ingest = createIngest(config, { logger: silentLogger(), publisher, inputs, idempotency });
  await ingest.start();
  return {
    ingest,
    url: ingest.url(),
    publisher,
    inputs,
    idempotency,
    spooled: () => readdir(spoolDir),
    async stop() {
      await ingest.stop();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

export interface FormOptions {
  fields?: Record<string, string>;
  filename?: string;
  type?: string;
}

/** A multipart form with the CSV in `file`, as a browser or curl -F sends it. */
export function csvForm(csv: string | Buffer, options: FormOptions = {}): FormData {
  const form = new FormData();
  const bytes = typeof csv === 'string' ? Buffer.from(csv, 'utf8') : csv;
  form.append(
    'file',
    new Blob([new Uint8Array(bytes)], { type: options.type ?? 'text/csv' }),
    options.filename ?? 'products.csv',
  );
  for (const [k, v] of Object.entries(options.fields ?? {})) form.append(k, v);
  return form;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & {
    error?: { code: string; message: string; details?: Record<string, unknown>[] };
  };
}

export async function post(
  url: string,
  body: FormData | string | Buffer,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    body: typeof body === 'string' || body instanceof FormData ? body : new Uint8Array(body),
    headers,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: JSON.parse(text) as JsonResponse['body'],
  };
}
