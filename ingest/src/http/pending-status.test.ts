/**
 * Polling the status_url straight after a 202 must not say "no such request" while the
 * aggregator has yet to read RequestAccepted: the edge answers PENDING from what ingest stored.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { csvForm, post, startWithFakes, type FakeIngest } from '../testing/harness';

let aggregator: Server;
let ingest: FakeIngest;
let upstreamStatus = 404;

beforeAll(async () => {
  // A stand-in aggregator that does not know the request yet (or does, when upstreamStatus is 200).
  aggregator = createServer((req, res) => {
    if (upstreamStatus === 404) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'ERR_REQUEST_NOT_FOUND', message: `No request (${req.url})` },
        }),
      );
    } else {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'PROCESSING' }));
    }
  });
  await new Promise<void>((resolve) => aggregator.listen(0, '127.0.0.1', resolve));
  ingest = await startWithFakes({
    AGGREGATOR_URL: `http://127.0.0.1:${(aggregator.address() as AddressInfo).port}`,
  });
});
afterAll(async () => {
  await ingest.stop();
  aggregator.closeAllConnections();
  await new Promise<void>((resolve) => aggregator.close(() => resolve()));
});

const csv =
  'S. No.,Product Name,Input Image Urls\n1,Shoe,"https://img.example/a.jpg, https://img.example/b.jpg"\n2,Hat,https://img.example/c.jpg\n';

it('answers PENDING with the accepted counts while the aggregator has not seen the request', async () => {
  upstreamStatus = 404;
  const accepted = await post(`${ingest.url}/upload`, csvForm(csv));
  expect(accepted.status).toBe(202);
  const id = accepted.body.request_id as string;

  for (const path of [`/status/${id}`, `/api/status/${id}`]) {
    const res = await fetch(`${ingest.url}${path}`);
    expect(res.status).toBe(200);
    // A snapshot of a changing request: a cache must not keep showing PENDING.
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({
      request_id: id,
      status: 'PENDING',
      progress: { total: 3, compressed: 0, failed: 0, pending: 3, percent: 0 },
      completed_at: null,
    });
  }
});

it("passes the aggregator's 404 on for a request ingest never accepted", async () => {
  upstreamStatus = 404;
  const res = await fetch(`${ingest.url}/status/0b6f1c2e-4a8d-4c7e-a1f0-3b5d7e9f1a2c`);
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ error: { code: 'ERR_REQUEST_NOT_FOUND' } });
});

it("uses the aggregator's answer once it knows the request", async () => {
  upstreamStatus = 200;
  const accepted = await post(`${ingest.url}/upload`, csvForm(csv));
  const res = await fetch(`${ingest.url}/status/${accepted.body.request_id as string}`);
  expect(await res.json()).toEqual({ status: 'PROCESSING' });
});
