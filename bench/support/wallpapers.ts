/**
 * The benchmark corpus shared by bench/processor-throughput.ts and bench/e2e-throughput.ts:
 * the photographs of Debian's plasma-workspace-wallpapers (installed with apt-get when
 * missing), a static origin serving them from a child process, and plain sharp with the
 * processor's settings as the reference.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export const WALLPAPERS = '/usr/share/wallpapers';
export const QUALITY = 50;

export function ensureCorpus(): string[] {
  if (!existsSync(WALLPAPERS)) {
    console.log(`${WALLPAPERS} missing: installing plasma-workspace-wallpapers with apt-get…`);
    const install = () =>
      execFileSync(
        'apt-get',
        ['install', '-y', '--no-install-recommends', 'plasma-workspace-wallpapers'],
        {
          stdio: 'inherit',
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        },
      );
    try {
      install();
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'inherit' });
      install();
    }
  }
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(jpe?g|png)$/i.test(entry.name)) files.push(realpathSync(full));
    }
  };
  walk(WALLPAPERS);
  // Most sizes of a wallpaper are symlinks to one file: each distinct file once.
  const bySize = [...new Set(files)]
    .map((f) => ({ f, size: statSync(f).size }))
    .sort((a, b) => b.size - a.size)
    .map((x) => x.f);
  const limit = Number(process.env.BENCH_LIMIT ?? 0);
  return limit > 0 ? bySize.slice(0, limit) : bySize;
}

/** A static file origin in a child process; resolves with its base URL. */
export async function startOrigin(): Promise<{ url: string; stop: () => void }> {
  const script = `
    const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
    const root = ${JSON.stringify(WALLPAPERS)};
    const server = http.createServer((req, res) => {
      const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
      if (!file.startsWith(root + '/')) { res.writeHead(403).end(); return; }
      fs.stat(file, (err, st) => {
        if (err) { res.writeHead(404).end(); return; }
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        fs.createReadStream(file).pipe(res);
      });
    });
    server.keepAliveTimeout = 30000;
    server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      const m = /port (\d+)/.exec(s);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`origin exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** Runs `work` over `items` with `concurrency` workers. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Peak RSS sampler (ru_maxrss is process-lifetime, so sample to attribute per phase). */
export function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** Plain sharp, the same settings as adapters/sharp/compressor.ts for keep-format output. */
export async function plainSharp(bytes: Buffer): Promise<number> {
  const meta = await sharp(bytes).metadata();
  let p = sharp(bytes, { failOn: 'error', limitInputPixels: 50_000_000 }).autoOrient();
  if (meta.icc !== undefined && meta.space !== 'cmyk') p = p.keepIccProfile();
  let out: Buffer;
  if (meta.format === 'png') {
    const [palette, lossless] = await Promise.all([
      p.clone().png({ palette: true, quality: QUALITY, effort: 4, compressionLevel: 9 }).toBuffer(),
      p.clone().png({ compressionLevel: 6, adaptiveFiltering: true }).toBuffer(),
    ]);
    out = palette.length <= lossless.length ? palette : lossless;
  } else {
    out = await p.jpeg({ quality: QUALITY }).toBuffer();
  }
  return Math.min(out.length, bytes.length);
}
