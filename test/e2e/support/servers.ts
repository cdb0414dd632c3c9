/** Real HTTP servers the end-to-end tests need: image origin and webhook receiver. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ensureSamples } from '../../../deploy/local/lib/samples';
import { pngDeclaring } from '../../../processor/test/integration/support/fixtures';
import { artifactsDir } from './stack';

const samplesDir = path.join(artifactsDir, '..', 'samples');

export interface ImageOrigin {
  base: string;
  /** URL of a generated sample (`v` makes distinct URLs for the same bytes). */
  url(name: string, v?: string | number): string;
  bytesOf(name: string): Buffer;
  names: string[];
  /** While held, image responses wait; `release()` lets them all through. */
  hold(): void;
  release(): void;
  /** Requests answered per path (without query). */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startImageOrigin(opts: { delayMs?: number } = {}): Promise<ImageOrigin> {
  const names = (await ensureSamples(samplesDir)).sort();
  const bomb = await pngDeclaring(20_000, 20_000);
  const cache = new Map(names.map((n) => [n, readFileSync(path.join(samplesDir, n))]));
  const types: Record<string, string> = {
    '.jpg': 'image/jpeg',
    '.png': 'image/png',
    '.webp': 'image/webp',
  };
  let held = false;
  let waiters: (() => void)[] = [];
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const answer = () => {
      if (p === '/html') {
        res
          .writeHead(200, { 'content-type': 'image/jpeg' })
          .end('<!doctype html><html><body>not an image</body></html>');
        return;
      }
      if (p === '/bomb.png') {
        res.writeHead(200, { 'content-type': 'image/png' }).end(bomb);
        return;
      }
      const name = p.replace(/^\/img\//, '');
      const bytes = cache.get(name);
      if (!p.startsWith('/img/') || !bytes) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': types[path.extname(name)] ?? 'application/octet-stream',
        'content-length': bytes.length,
      });
      res.end(bytes);
    };
    const go = () => (opts.delayMs ? setTimeout(answer, opts.delayMs) : answer());
    if (held) waiters.push(go);
    else go();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    names,
    url: (name, v) => `${base}/img/${name}${v === undefined ? '' : `?v=${v}`}`,
    bytesOf: (name) => cache.get(name)!,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    },
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        held = false;
        waiters.forEach((f) => f());
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers as Record<string, string>, body, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/imgpipe`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
