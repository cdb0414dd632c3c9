/**
 * `npm run demo`: uploads examples/products.csv to the running stack (`npm start`), shows a
 * progress bar until the request completes, then prints the status, the output CSV, bytes
 * before/after, and the signed webhook a local receiver got (signature verified).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';

const base = (
  process.env.IMGPIPE_URL ||
  process.env.PUBLIC_BASE_URL ||
  'http://127.0.0.1:8080'
).replace(/\/$/, '');
const csvPath = path.resolve(__dirname, '..', '..', 'examples', 'products.csv');

interface Status {
  status: string;
  progress: { total: number; compressed: number; failed: number; pending: number; percent: number };
  bytes_in?: number;
  bytes_out?: number;
  output_csv_url?: string;
}

const kb = (n = 0) => `${(n / 1024).toFixed(0)} KiB`;

function bar(p: Status['progress'], width = 30): string {
  const done = Math.round((p.percent / 100) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${String(p.percent).padStart(3)}%  ${p.compressed} compressed, ${p.failed} failed, ${p.pending} pending`;
}

async function main(): Promise<number> {
  // A local webhook receiver: what a user's system would run.
  const hooks: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/imgpipe-webhook`;

  const form = new FormData();
  form.append('file', new Blob([readFileSync(csvPath)], { type: 'text/csv' }), 'products.csv');
  form.append('webhook_url', hookUrl);
  let res: Response;
  try {
    res = await fetch(`${base}/upload`, { method: 'POST', body: form });
  } catch {
    console.error(`demo: nothing answers at ${base}; start the stack first with \`npm start\``);
    return 1;
  }
  const accepted = (await res.json()) as Record<string, unknown>;
  if (res.status !== 202) {
    console.error(`demo: upload rejected (${res.status}):\n${JSON.stringify(accepted, null, 2)}`);
    return 1;
  }
  const id = accepted.request_id as string;
  console.log(
    `uploaded ${path.relative(process.cwd(), csvPath)}: request ${id} (${String(accepted.products)} products, ${String(accepted.images)} images)`,
  );
  console.log(`webhook receiver: ${hookUrl}\n`);

  let status: Status | undefined;
  const deadline = Date.now() + 5 * 60_000;
  while (Date.now() < deadline) {
    status = (await (await fetch(`${base}/status/${id}`)).json()) as Status;
    if (process.stdout.isTTY) process.stdout.write(`\r${bar(status.progress)}   `);
    if (!['PENDING', 'PROCESSING'].includes(status.status)) break;
    await sleep(500);
  }
  if (!status) return 1;
  console.log(
    `${process.stdout.isTTY ? '\n' : ''}${bar(status.progress)}\n\nstatus: ${status.status}`,
  );
  console.log(
    `bytes: ${kb(status.bytes_in)} in → ${kb(status.bytes_out)} out (${status.bytes_in ? ((100 * (status.bytes_out ?? 0)) / status.bytes_in).toFixed(1) : '-'} %)`,
  );

  const csv = await fetch(`${base}/requests/${id}/output.csv`);
  console.log(`\noutput CSV (${csv.status}):\n${await csv.text()}`);

  const hookDeadline = Date.now() + 30_000;
  while (hooks.length === 0 && Date.now() < hookDeadline) await sleep(200);
  const hook = hooks[0];
  if (!hook) {
    console.log('webhook: not received within 30 s (see the notifier log)');
  } else {
    let verified = 'signature verified';
    try {
      new Webhook(accepted.webhook_secret as string).verify(
        hook.body,
        hook.headers as Record<string, string>,
      );
    } catch (err) {
      verified = `signature NOT verified: ${(err as Error).message}`;
    }
    console.log(
      `webhook landed at ${hookUrl} (webhook-id ${String(hook.headers['webhook-id'])}, ${verified}):\n${hook.body}`,
    );
  }
  receiver.close();
  return status.status === 'FAILED' ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${(err as Error).message}`);
    process.exit(1);
  },
);
