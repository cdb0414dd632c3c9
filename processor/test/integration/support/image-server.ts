/**
 * A real HTTP origin for tests, on 127.0.0.1 (or ::1) port 0: routes answer with scripted
 * behaviour (bytes, statuses, redirects, silence, endless bodies) and every hit is counted.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ImageServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (IPv6: http://[::1]:41234). */
  url: string;
  port: number;
  route(path: string, handler: Route): void;
  /** Requests seen per path. */
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startImageServer(host = '127.0.0.1'): Promise<ImageServer> {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such image');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    route: (path, handler) => {
      routes.set(path, handler);
    },
    hits: (path) => hits.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Serves bytes with a Content-Type (which the processor must not trust). */
export const serve =
  (bytes: Buffer, contentType = 'image/jpeg'): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length }).end(bytes);
  };

export const status =
  (code: number, headers: Record<string, string> = {}): Route =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(`status ${code}`);
  };

export const redirect =
  (location: string, code = 302): Route =>
  (_req, res) => {
    res.writeHead(code, { location }).end();
  };

/** Accepts the request and never answers. */
export const silent = (): Route => () => {};

/** Streams `totalBytes` of chunked data with no Content-Length; counts what was written. */
export function endless(totalBytes: number, written: { bytes: number }): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const chunk = Buffer.alloc(64 * 1024, 0xab);
    const pump = () => {
      while (written.bytes < totalBytes) {
        written.bytes += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => {
      written.bytes = Math.min(written.bytes, totalBytes);
    });
    pump();
  };
}

/** Fails `times` times with `code`, then serves `bytes`. */
export function flaky(times: number, code: number, bytes: Buffer): Route {
  let left = times;
  return (req, res) => {
    if (left > 0) {
      left -= 1;
      status(code)(req, res);
      return;
    }
    serve(bytes)(req, res);
  };
}
