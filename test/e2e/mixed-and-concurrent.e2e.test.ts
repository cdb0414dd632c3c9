/**
 * Failures users will meet (issue 8): some images 404, one is not an image, one declares too
 * many pixels → COMPLETED_WITH_ERRORS with empty positions and failure codes; and two uploads
 * at once never mix.
 */
import { allImages, csvOf, outputCsv, splitUrls, upload, waitDone } from './support/client';
import { startImageOrigin, type ImageOrigin } from './support/servers';
import { startStack, type Stack } from './support/stack';

let stack: Stack;
let origin: ImageOrigin;

beforeAll(async () => {
  [stack, origin] = await Promise.all([startStack({ processors: 2 }), startImageOrigin()]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), origin?.close()]);
});

it('completes with errors: failed positions empty in the CSV, failure codes in the status', async () => {
  const good = origin.url(origin.names[0]!);
  const rows = [
    { sn: 1, name: 'Good and missing', urls: [good, `${origin.base}/img/nope-1.jpg`] },
    { sn: 2, name: 'Not an image', urls: [`${origin.base}/html`, origin.url(origin.names[1]!)] },
    { sn: 3, name: 'Pixel bomb', urls: [`${origin.base}/bomb.png`] },
    { sn: 4, name: 'Missing too', urls: [`${origin.base}/img/nope-2.png`, good] },
  ];
  const accepted = await upload(stack.baseUrl, csvOf(rows));
  expect(accepted.status).toBe(202);
  const id = accepted.body.request_id;

  const { final } = await waitDone(stack.baseUrl, id);
  expect(final.status).toBe('COMPLETED_WITH_ERRORS');
  expect(final.progress).toMatchObject({
    total: 7,
    compressed: 3,
    failed: 4,
    pending: 0,
    percent: 100,
  });

  const images = (await allImages(stack.baseUrl, id)).map((p) =>
    p.images.map((i) => [i.status, i.failure_code]),
  );
  expect(images).toEqual([
    [
      ['COMPRESSED', null],
      ['FAILED', 'HTTP_NOT_FOUND'],
    ],
    [
      ['FAILED', 'UNSUPPORTED_FORMAT'],
      ['COMPRESSED', null],
    ],
    [['FAILED', 'TOO_MANY_PIXELS']],
    [
      ['FAILED', 'HTTP_NOT_FOUND'],
      ['COMPRESSED', null],
    ],
  ]);

  const table = await outputCsv(stack.baseUrl, id);
  const outputs = table.slice(1).map((r) => splitUrls(r[3]).map((u) => (u ? 'url' : '')));
  expect(outputs).toEqual([['url', ''], ['', 'url'], [''], ['', 'url']]);
  // Permanent failures are not retried: each bad URL was fetched once.
  expect(origin.hits.get('/img/nope-1.jpg')).toBe(1);
  expect(origin.hits.get('/html')).toBe(1);
});

it('keeps two requests uploaded at the same time apart', async () => {
  const [a, b] = origin.names;
  const rowsA = Array.from({ length: 6 }, (_, i) => ({
    sn: i + 1,
    name: `A product ${i + 1}`,
    urls: [origin.url(a!, `a${i}`)],
  }));
  const rowsB = Array.from({ length: 4 }, (_, i) => ({
    sn: 100 + i,
    name: `B product ${i + 1}`,
    urls: [origin.url(b!, `b${i}`), origin.url(a!, `b${i}x`)],
  }));
  const [ua, ub] = await Promise.all([
    upload(stack.baseUrl, csvOf(rowsA)),
    upload(stack.baseUrl, csvOf(rowsB)),
  ]);
  expect([ua.status, ub.status]).toEqual([202, 202]);
  expect(ua.body.request_id).not.toBe(ub.body.request_id);

  const [da, db] = await Promise.all([
    waitDone(stack.baseUrl, ua.body.request_id),
    waitDone(stack.baseUrl, ub.body.request_id),
  ]);
  expect(da.final.progress).toMatchObject({ total: 6, compressed: 6 });
  expect(db.final.progress).toMatchObject({ total: 8, compressed: 8 });

  const ta = await outputCsv(stack.baseUrl, ua.body.request_id);
  const tb = await outputCsv(stack.baseUrl, ub.body.request_id);
  expect(ta.slice(1).map((r) => [r[0], r[1], splitUrls(r[2])])).toEqual(
    rowsA.map((r) => [String(r.sn), r.name, r.urls]),
  );
  expect(tb.slice(1).map((r) => [r[0], r[1], splitUrls(r[2])])).toEqual(
    rowsB.map((r) => [String(r.sn), r.name, r.urls]),
  );
  for (const row of ta.slice(1))
    for (const u of splitUrls(row[3])) expect(u).toContain(`/images/${ua.body.request_id}/`);
  for (const row of tb.slice(1))
    for (const u of splitUrls(row[3])) expect(u).toContain(`/images/${ub.body.request_id}/`);
});
