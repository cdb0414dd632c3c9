/** What a user's script does against the public edge: upload, poll status, download. */
import { parse } from 'csv-parse/sync';
import { setTimeout as sleep } from 'node:timers/promises';
// The public API's shapes, typed once: the CLI's port mirrors them for its own users.
import type { Accepted, StatusBody } from '@imgpipe/cli';

export type { Accepted, StatusBody };

export const csvOf = (rows: { sn: number | string; name: string; urls: string[] }[]): string =>
  [
    'S. No.,Product Name,Input Image Urls',
    ...rows.map((r) => `${r.sn},${r.name},"${r.urls.join(', ')}"`),
  ].join('\n') + '\n';

export async function upload(
  baseUrl: string,
  csv: string,
  fields: Record<string, string> = {},
): Promise<{ status: number; body: Accepted & { error?: unknown } }> {
  const form = new FormData();
  form.append('file', new Blob([csv], { type: 'text/csv' }), 'products.csv');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${baseUrl}/upload`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as Accepted };
}

export async function status(baseUrl: string, id: string, query = ''): Promise<StatusBody> {
  const res = await fetch(`${baseUrl}/status/${id}${query}`);
  if (!res.ok) throw new Error(`GET /status/${id} → ${res.status} ${await res.text()}`);
  return (await res.json()) as StatusBody;
}

/** Every image of a request, following the pagination cursor. */
export async function allImages(
  baseUrl: string,
  id: string,
): Promise<NonNullable<StatusBody['products']>> {
  const products: NonNullable<StatusBody['products']> = [];
  let cursor: string | null | undefined;
  do {
    const page = await status(
      baseUrl,
      id,
      `?include=images&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const p of page.products ?? []) {
      const last = products[products.length - 1];
      if (last && last.position === p.position) last.images.push(...p.images);
      else products.push(p);
    }
    cursor = page.images_page?.next_cursor;
  } while (cursor);
  return products;
}

const FINAL = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

/** Polls until the request is final; returns the final body and every status seen in order. */
export async function waitDone(
  baseUrl: string,
  id: string,
  timeoutMs = 180_000,
): Promise<{ final: StatusBody; seen: string[] }> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(baseUrl, id);
    if (seen[seen.length - 1] !== s.status) seen.push(s.status);
    if (FINAL.includes(s.status)) return { final: s, seen };
    if (Date.now() > deadline)
      throw new Error(`request ${id} not done after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await sleep(250);
  }
}

export async function outputCsv(baseUrl: string, id: string): Promise<string[][]> {
  const res = await fetch(`${baseUrl}/requests/${id}/output.csv`);
  if (res.status !== 200) throw new Error(`output.csv → ${res.status} ${await res.text()}`);
  const rows: string[][] = parse(await res.text(), { bom: true });
  return rows;
}

export const splitUrls = (cell: string | undefined): string[] =>
  (cell ?? '').split(',').map((s) => s.trim());
