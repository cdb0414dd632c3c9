import { existsSync, mkdirSync, readdirSync, statSync, createReadStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';

/**
 * Sample product images for the offline demo and end-to-end tests, generated on this machine
 * with sharp (never downloaded): SVG scenes with gradients and shapes plus photographic-like
 * grain, so the files are a few hundred KB and compress like real photos do.
 */
export interface SampleSpec {
  name: string;
  width: number;
  height: number;
  format: 'jpeg' | 'png' | 'webp';
  hue: number;
}

export const SAMPLES: readonly SampleSpec[] = [
  { name: 'sneaker-red.jpg', width: 1600, height: 1200, format: 'jpeg', hue: 0 },
  { name: 'sneaker-blue.jpg', width: 1600, height: 1200, format: 'jpeg', hue: 220 },
  { name: 'backpack.jpg', width: 1400, height: 1400, format: 'jpeg', hue: 35 },
  { name: 'backpack-side.png', width: 640, height: 640, format: 'png', hue: 120 },
  { name: 'watch.jpg', width: 1200, height: 1600, format: 'jpeg', hue: 280 },
  { name: 'watch-detail.webp', width: 1200, height: 1200, format: 'webp', hue: 190 },
  { name: 'lamp.jpg', width: 1800, height: 1200, format: 'jpeg', hue: 50 },
  { name: 'lamp-night.png', width: 560, height: 700, format: 'png', hue: 250 },
];

function scene(s: SampleSpec): string {
  const { width: w, height: h, hue } = s;
  const shapes = Array.from({ length: 14 }, (_, i) => {
    // Golden-ratio steps spread the shapes evenly over the frame.
    const cx = (i * 0.618034 + hue / 360) % 1;
    const cy = (i * 0.414214 + 0.1) % 1;
    const r = 0.05 + ((i * 53) % 17) / 100;
    return `<circle cx="${(cx * w).toFixed(0)}" cy="${(cy * h).toFixed(0)}" r="${(r * Math.min(w, h)).toFixed(0)}" fill="hsl(${(hue + i * 23) % 360},70%,${40 + (i % 5) * 8}%)" fill-opacity="0.55"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="hsl(${hue},60%,85%)"/><stop offset="1" stop-color="hsl(${(hue + 60) % 360},50%,30%)"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>${shapes}
    <text x="50%" y="92%" font-family="sans-serif" font-size="${Math.round(h / 14)}" text-anchor="middle" fill="white" fill-opacity="0.85">${s.name.replace(/\..*$/, '')}</text>
  </svg>`;
}

/** Deterministic grain (a small LCG), so every machine generates the same bytes. */
function grain(w: number, h: number, seed: number): Buffer {
  const buf = Buffer.alloc(w * h);
  let x = seed >>> 0;
  for (let i = 0; i < buf.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buf[i] = 128 + (((x >>> 24) & 0x0f) - 8);
  }
  return buf;
}

export async function generateSample(s: SampleSpec, file: string): Promise<void> {
  const noise = await sharp(grain(s.width, s.height, s.hue + s.width), {
    raw: { width: s.width, height: s.height, channels: 1 },
  })
    .toColourspace('srgb')
    .png()
    .toBuffer();
  let img = sharp(Buffer.from(scene(s))).composite([{ input: noise, blend: 'overlay' }]);
  img =
    s.format === 'jpeg'
      ? img.jpeg({ quality: 88 })
      : s.format === 'png'
        ? img.png()
        : img.webp({ quality: 88 });
  await img.toFile(file);
}

/** Generates whatever sample is missing in `dir` (idempotent, offline). */
export async function ensureSamples(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  for (const s of SAMPLES) {
    const file = path.join(dir, s.name);
    if (!existsSync(file) || statSync(file).size === 0) await generateSample(s, file);
  }
  return readdirSync(dir);
}

const TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/** Serves `dir` under /samples/ on 127.0.0.1 (GET only, no directory listing, no traversal). */
export function serveSamples(dir: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(
      (req.url ?? '').replace(/^\/samples\//, '').split('?')[0] ?? '',
    );
    const file = path.join(dir, path.basename(name));
    if (req.method !== 'GET' || !req.url?.startsWith('/samples/') || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
