/**
 * The happy path through all four services as separate processes (issue 8): upload → 202 →
 * status PENDING → PROCESSING → COMPLETED → output CSV rows match the input → every output
 * URL downloads a valid, not larger image of the expected format → one signed webhook.
 */
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '../support/env';
import { allImages, outputCsv, splitUrls, status, upload, waitDone } from './support/client';
import {
  startImageOrigin,
  startWebhookReceiver,
  type ImageOrigin,
  type WebhookReceiver,
} from './support/servers';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let origin: ImageOrigin;
let receiver: WebhookReceiver;

beforeAll(async () => {
  [stack, origin, receiver] = await Promise.all([
    startStack(),
    startImageOrigin(),
    startWebhookReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), origin?.close(), receiver?.close()]);
});

const FORMAT_OF: Record<string, string> = { jpg: 'jpeg', png: 'png', webp: 'webp' };

it('compresses every image, keeps rows and positions, and calls the webhook once', async () => {
  const n = origin.names;
  const rows = [
    { sn: 1, name: 'Runner Sneaker', urls: [origin.url(n[0]!), origin.url(n[1]!)] },
    { sn: 2, name: 'Trail, "Backpack"', urls: [origin.url(n[2]!)] },
    { sn: 3, name: 'Desk Lamp', urls: [origin.url(n[3]!), origin.url(n[4]!), origin.url(n[5]!)] },
    { sn: 7, name: 'Field Watch', urls: [origin.url(n[6]!), origin.url(n[7]!), origin.url(n[6]!)] },
  ];
  const csv = [
    'S. No.,Product Name,Input Image Urls',
    ...rows.map((r) => `${r.sn},"${r.name.replace(/"/g, '""')}","${r.urls.join(', ')}"`),
  ].join('\r\n');

  // Hold every image download so the test sees PENDING, then PROCESSING, deterministically.
  origin.hold();
  const accepted = await upload(stack.baseUrl, csv, { webhook_url: receiver.url });
  expect(accepted.status).toBe(202);
  expect(accepted.body).toMatchObject({
    status: 'PENDING',
    products: 4,
    images: 9,
    message: 'File accepted, processing started',
  });
  expect(accepted.body.webhook_secret).toMatch(/^whsec_/);
  const id = accepted.body.request_id;
  expect(accepted.body.status_url).toBe(`${stack.baseUrl}/status/${id}`);

  const pending = await waitFor(
    async () => {
      const res = await fetch(`${stack.baseUrl}/status/${id}`);
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
    },
    { what: 'the request to be known to the status API' },
  );
  expect(pending.status).toBe('PENDING');
  origin.release();

  const { final, seen } = await waitDone(stack.baseUrl, id);
  expect(seen[0]).toBe('PENDING');
  expect(seen).toContain('PROCESSING');
  expect(seen.indexOf('PROCESSING')).toBeLessThan(seen.indexOf('COMPLETED'));
  expect(final.status).toBe('COMPLETED');
  expect(final.progress).toEqual({ total: 9, compressed: 9, failed: 0, pending: 0, percent: 100 });
  expect(final.output_csv_url).toBe(`${stack.baseUrl}/requests/${id}/output.csv`);
  expect(final.bytes_out).toBeLessThanOrEqual(final.bytes_in);

  // Output CSV: the input rows in order, serials and names as given, outputs in the same positions.
  const table = await outputCsv(stack.baseUrl, id);
  expect(table[0]).toEqual(['S. No.', 'Product Name', 'Input Image Urls', 'Output Image Urls']);
  expect(table.slice(1).map((r) => [r[0], r[1], splitUrls(r[2])])).toEqual(
    rows.map((r) => [String(r.sn), r.name, r.urls]),
  );
  for (const [i, row] of table.slice(1).entries()) {
    const inputs = rows[i]!.urls;
    const outputs = splitUrls(row[3]);
    expect(outputs).toHaveLength(inputs.length);
    for (const [j, out] of outputs.entries()) {
      expect(out).toBe(`${stack.baseUrl}/images/${id}/${i + 1}/${j + 1}`);
      const res = await fetch(out);
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.arrayBuffer());
      const input = origin.bytesOf(inputs[j]!.split('/').pop()!);
      const expected = FORMAT_OF[inputs[j]!.split('.').pop()!]!;
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe(expected);
      expect(res.headers.get('content-type')).toBe(`image/${expected}`);
      expect(bytes.length).toBeLessThanOrEqual(input.length);
      expect(meta.width).toBe((await sharp(input).metadata()).width);
    }
  }

  // Per-image detail agrees with the CSV.
  const products = await allImages(stack.baseUrl, id);
  expect(products.flatMap((p) => p.images.map((im) => im.status))).toEqual(
    Array(9).fill('COMPRESSED'),
  );

  // Exactly one webhook, verifiable with the secret from the 202.
  await waitFor(() => (receiver.deliveries.length > 0 ? true : undefined), {
    what: 'the webhook',
    timeoutMs: 30_000,
  });
  const webhook = new Webhook(accepted.body.webhook_secret!);
  const delivery = receiver.deliveries[0]!;
  const payload = webhook.verify(delivery.body, delivery.headers) as {
    type: string;
    data: Record<string, unknown>;
  };
  expect(payload.type).toBe('request.completed');
  expect(payload.data).toMatchObject({
    request_id: id,
    status: 'COMPLETED',
    output_csv_url: final.output_csv_url,
  });
  // Later polls see the delivery recorded; and no second delivery arrives meanwhile.
  const after = await waitFor(
    async () => {
      const s = await status(stack.baseUrl, id);
      return s.webhook?.state === 'SUCCEEDED' ? s : undefined;
    },
    { what: 'the webhook state in the status API' },
  );
  expect(after.webhook).toMatchObject({ state: 'SUCCEEDED', attempts: 1, last_status_code: 204 });
  // No options in the form: the status says which defaults were applied.
  expect(after.options).toEqual({ quality: 50, format: 'keep', max_dimension: null });
  expect(receiver.deliveries).toHaveLength(1);
});
