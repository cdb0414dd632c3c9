/**
 * POST /upload, the request around the CSV: content type, multipart parts, form fields,
 * Idempotency-Key, the 202 body, and the service's other routes. Real HTTP, port fakes.
 */
import { request } from 'node:http';
import { csvForm, post, startWithFakes, type FakeIngest } from '../testing/harness';

const CSV = 'S. No.,Product Name,Input Image Urls\n1,Shirt,https://img.example.com/1.jpg\n';

describe('POST /upload: request, form fields and answer', () => {
  let svc: FakeIngest;
  beforeAll(async () => {
    svc = await startWithFakes();
  });
  afterAll(async () => {
    await svc.stop();
  });
  beforeEach(() => {
    svc.publisher.calls.length = 0;
    svc.inputs.objects.clear();
    svc.idempotency.records.clear();
  });

  const expectNothingLeft = async () => {
    expect(svc.publisher.calls).toEqual([]);
    expect(svc.inputs.objects.size).toBe(0);
    expect(await svc.spooled()).toEqual([]);
  };

  it('answers 202 with the request id, status URL, counts and message; /api/upload too', async () => {
    for (const path of ['/upload', '/api/upload']) {
      const res = await post(`${svc.url}${path}`, csvForm(CSV));
      expect(res.status).toBe(202);
      const id = res.body.request_id as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body).toEqual({
        request_id: id,
        status: 'PENDING',
        status_url: `http://edge.example/status/${id}`,
        products: 1,
        images: 1,
        message: 'File accepted, processing started',
      });
      expect(res.headers.get('location')).toBe(`http://edge.example/status/${id}`);
    }
  });

  it('uses the defaults (quality 50, keep format, no resize) when no options are given', async () => {
    await post(`${svc.url}/upload`, csvForm(CSV));
    const accepted = svc.publisher.events()[0]!;
    expect(accepted.value).toMatchObject({
      options: { quality: 50, format: 'keep', maxDimension: null },
      webhookUrl: null,
      webhookSecret: null,
      email: null,
    });
  });

  it('carries the options, and a whsec_ secret that the 202 and RequestAccepted share', async () => {
    const res = await post(
      `${svc.url}/upload`,
      csvForm(CSV, {
        fields: {
          webhook_url: 'https://hooks.example.com/imgpipe',
          email: 'ops@example.com',
          quality: '80',
          format: 'WEBP',
          max_dimension: '1024',
        },
      }),
    );
    expect(res.status).toBe(202);
    const secret = res.body.webhook_secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    const [accepted, image] = svc.publisher.events();
    expect(accepted!.value).toMatchObject({
      requestId: res.body.request_id,
      products: 1,
      images: 1,
      inputCsvKey: `inputs/${String(res.body.request_id)}.csv`,
      options: { quality: 80, format: 'webp', maxDimension: 1024 },
      webhookUrl: 'https://hooks.example.com/imgpipe',
      webhookSecret: secret,
      email: 'ops@example.com',
    });
    expect(image!.value).toMatchObject({
      options: { quality: 80, format: 'webp', maxDimension: 1024 },
    });
  });

  it('gives each request its own webhook secret', async () => {
    const form = () => csvForm(CSV, { fields: { webhook_url: 'https://hooks.example.com/x' } });
    const a = await post(`${svc.url}/upload`, form());
    const b = await post(`${svc.url}/upload`, form());
    expect(a.body.webhook_secret).not.toBe(b.body.webhook_secret);
  });

  it('treats empty option fields as not given (HTML forms send them)', async () => {
    const res = await post(
      `${svc.url}/upload`,
      csvForm(CSV, {
        fields: { webhook_url: '', email: '', quality: '', format: '', max_dimension: '' },
      }),
    );
    expect(res.status).toBe(202);
    expect(res.body).not.toHaveProperty('webhook_secret');
  });

  it.each([
    ['quality', '0'],
    ['quality', '101'],
    ['quality', 'high'],
    ['quality', '50.5'],
    ['format', 'gif'],
    ['max_dimension', '0'],
    ['max_dimension', '-5'],
    ['max_dimension', '100000'],
    ['webhook_url', 'not a url'],
    ['webhook_url', 'ftp://hooks.example.com/x'],
    ['webhook_url', '/relative/hook'],
    ['email', 'nobody'],
    ['email', 'a@b'],
  ])('rejects %s=%j with 400 ERR_FIELD_INVALID naming the field', async (field, value) => {
    const res = await post(`${svc.url}/upload`, csvForm(CSV, { fields: { [field]: value } }));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_FIELD_INVALID');
    expect(res.body.error?.details).toEqual([
      { field, value, problem: expect.any(String) as string },
    ]);
    await expectNothingLeft();
  });

  it('reports every bad field at once', async () => {
    const res = await post(
      `${svc.url}/upload`,
      csvForm(CSV, { fields: { quality: '0', format: 'bmp', email: 'x' } }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.details?.map((d) => d.field)).toEqual(['quality', 'format', 'email']);
  });

  it('reports a bad form field before the CSV problems', async () => {
    const res = await post(`${svc.url}/upload`, csvForm('nonsense', { fields: { quality: '0' } }));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_FIELD_INVALID');
  });

  it('rejects a field given twice', async () => {
    const form = csvForm(CSV);
    form.append('quality', '60');
    form.append('quality', '70');
    const res = await post(`${svc.url}/upload`, form);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_FIELD_INVALID');
    expect(res.body.error?.details?.[0]).toMatchObject({ field: 'quality' });
  });

  it('rejects an unknown field (a typo must not be ignored silently)', async () => {
    const res = await post(
      `${svc.url}/upload`,
      csvForm(CSV, { fields: { webhookUrl: 'https://hooks.example.com/x' } }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_FIELD_UNKNOWN');
    expect(res.body.error?.message).toContain('webhookUrl');
    await expectNothingLeft();
  });

  it('rejects a body that is not multipart with 415', async () => {
    const res = await post(`${svc.url}/upload`, CSV, { 'content-type': 'text/csv' });
    expect(res.status).toBe(415);
    expect(res.body.error?.code).toBe('ERR_UNSUPPORTED_MEDIA_TYPE');
    await expectNothingLeft();
  });

  it('rejects a request without a file part with 400', async () => {
    const form = new FormData();
    form.append('quality', '50');
    const res = await post(`${svc.url}/upload`, form);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_FILE_MISSING');
    await expectNothingLeft();
  });

  it('rejects two files with 400', async () => {
    const form = csvForm(CSV);
    form.append('file', new Blob([CSV], { type: 'text/csv' }), 'second.csv');
    const res = await post(`${svc.url}/upload`, form);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_TOO_MANY_FILES');
    await expectNothingLeft();
  });

  it('rejects a file sent under another field name', async () => {
    const form = new FormData();
    form.append('csv', new Blob([CSV], { type: 'text/csv' }), 'products.csv');
    const res = await post(`${svc.url}/upload`, form);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_MULTIPART');
    expect(res.body.error?.message).toContain('"file"');
    await expectNothingLeft();
  });

  it('rejects a file declared as another type (an image) with 415', async () => {
    const res = await post(
      `${svc.url}/upload`,
      csvForm(CSV, { type: 'image/png', filename: 'a.png' }),
    );
    expect(res.status).toBe(415);
    expect(res.body.error?.code).toBe('ERR_FILE_TYPE');
    await expectNothingLeft();
  });

  it.each(['application/vnd.ms-excel', 'text/plain', 'application/octet-stream'])(
    'accepts a CSV declared as %s (what browsers and tools send)',
    async (type) => {
      const res = await post(`${svc.url}/upload`, csvForm(CSV, { type }));
      expect(res.status).toBe(202);
    },
  );

  it('refuses a body declared far over the size limit with 413 before reading it', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${svc.url}/upload`, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=xyz',
          'content-length': String(500 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(answer.status).toBe(413);
    expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe(
      'ERR_FILE_TOO_LARGE',
    );
    await expectNothingLeft();
  });

  it('rejects a malformed multipart body with 400', async () => {
    const res = await post(
      `${svc.url}/upload`,
      '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nS. No.',
      {
        'content-type': 'multipart/form-data; boundary=xyz',
      },
    );
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_MULTIPART');
    await expectNothingLeft();
  });

  it('rejects a multipart content type without a boundary with 400', async () => {
    const res = await post(`${svc.url}/upload`, 'x', { 'content-type': 'multipart/form-data' });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('ERR_MULTIPART');
  });

  it.each([['x'.repeat(256)], ['héllo'], ['   ']])(
    'rejects an invalid Idempotency-Key (%#) with 400',
    async (key) => {
      const res = await post(`${svc.url}/upload`, csvForm(CSV), { 'idempotency-key': key });
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('ERR_IDEMPOTENCY_KEY_INVALID');
      await expectNothingLeft();
    },
  );

  it('answers GET /upload with 405 and Allow: POST', async () => {
    const res = await fetch(`${svc.url}/upload`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'ERR_METHOD_NOT_ALLOWED',
    );
  });

  it('answers unknown routes with 404 in the shared error shape', async () => {
    for (const path of ['/nope', '/api/nope', '/docs/nope']) {
      const res = await fetch(`${svc.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: { code: 'ERR_NOT_FOUND', message: expect.any(String) as string },
      });
    }
  });

  it('serves /healthz, /readyz and /metrics with the upload metrics', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    await post(`${svc.url}/upload`, csvForm('bad'));
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(text).toMatch(/imgpipe_uploads_total\{outcome="rejected",service="ingest"\} [1-9]/);
    expect(text).toMatch(
      /imgpipe_upload_rejections_total\{code="ERR_CSV_HEADER",service="ingest"\} 1/,
    );
    expect(text).toContain('imgpipe_upload_duration_seconds_bucket');
    // Route templates, never raw paths, as label values.
    expect(text).toMatch(/imgpipe_http_requests_total\{route="\/upload",method="POST",code="422"/);
  });
});
