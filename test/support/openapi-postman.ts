/**
 * Reads docs/imgpipe.postman_collection.json as the unit test (in step with the OpenAPI
 * document) and the newman end-to-end test need it: every request flattened out of its folder,
 * with its method, path template and the CSV files it uploads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const POSTMAN_COLLECTION_PATH = path.resolve(
  __dirname,
  '..',
  '..',
  'docs',
  'imgpipe.postman_collection.json',
);
/** The example CSVs the collection uploads (newman's `--working-dir`). */
export const POSTMAN_FILES_DIR = path.resolve(__dirname, '..', '..', 'docs', 'postman');

type Json = Record<string, unknown>;

export interface CollectionRequest {
  /** The request's name (unique: the polling step loops on it by name). */
  name: string;
  /** The folder it sits in (one per OpenAPI tag). */
  folder: string;
  method: string;
  /** The URL's path with every `{{variable}}` segment replaced by `x`, no query. */
  path: string;
  /** `src` of every file form field (relative to the working directory). */
  files: string[];
  /** The request's test script. */
  tests: string;
}

export function loadPostmanCollection(file = POSTMAN_COLLECTION_PATH): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

const rawUrl = (url: unknown): string =>
  typeof url === 'string' ? url : ((url as { raw?: string }).raw ?? '');

export function collectionRequests(collection: Json): CollectionRequest[] {
  const out: CollectionRequest[] = [];
  const walk = (items: Json[], folder: string) => {
    for (const item of items) {
      if (Array.isArray(item.item)) {
        walk(item.item as Json[], String(item.name));
        continue;
      }
      const request = item.request as Json;
      const raw = rawUrl(request.url);
      const pathOnly = raw
        .replace(/^\{\{baseUrl\}\}/, '')
        .split('?')[0]!
        .replace(/\{\{[^}]+\}\}/g, 'x');
      const body = (request.body ?? {}) as { formdata?: { type?: string; src?: string }[] };
      const events = (item.event ?? []) as { listen: string; script: { exec: string[] } }[];
      out.push({
        name: String(item.name),
        folder,
        method: ((request.method as string | undefined) ?? 'GET').toLowerCase(),
        path: pathOnly === '' ? '/' : pathOnly,
        files: (body.formdata ?? []).filter((f) => f.type === 'file').map((f) => String(f.src)),
        tests: events
          .filter((e) => e.listen === 'test')
          .map((e) => e.script.exec.join('\n'))
          .join('\n'),
      });
    }
  };
  walk(collection.item as Json[], '');
  return out;
}
