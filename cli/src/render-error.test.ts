import type { ApiFailure } from './api';
import { detailLines, renderFailure, reportLines } from './render-error';

const BASE = 'http://imgpipe.example:8080';
const http = (over: Partial<Extract<ApiFailure, { kind: 'http' }>>): ApiFailure => ({
  kind: 'http',
  url: `${BASE}/upload`,
  status: 422,
  code: 'ERR_CSV_INVALID',
  message: 'The CSV has 3 problems. Fix them and upload the file again.',
  imgpipeShape: true,
  ...over,
});

it('lists CSV problems by line and column, with the value when there is one', () => {
  expect(
    detailLines([
      {
        line: 3,
        column: 1,
        value: 'abc',
        problem: 'serial number must be a positive whole number',
      },
      { line: 5, column: null, value: '7,x', problem: 'expected 3 fields' },
      { line: null, column: null, value: null, problem: 'add at least one product row' },
      { line: 9, column: 3, value: '', problem: 'no image URL' },
    ]),
  ).toEqual([
    '  line 3, column 1: serial number must be a positive whole number (value: "abc")',
    '  line 5: expected 3 fields (value: "7,x")',
    '  file: add at least one product row',
    '  line 9, column 3: no image URL',
  ]);
});

it('names the CLI option behind a form-field problem', () => {
  expect(
    detailLines([
      { field: 'webhook_url', value: 'ftp://x', problem: 'must be an http(s) URL' },
      { field: 'Idempotency-Key', value: null, problem: 'too long' },
      { field: 'colour', value: 'red', problem: 'unknown field' },
    ]),
  ).toEqual([
    '  webhook_url (--webhook): must be an http(s) URL (value: "ftp://x")',
    '  Idempotency-Key (--idempotency-key): too long',
    '  colour: unknown field (value: "red")',
  ]);
});

it('shows other details as key: value lines', () => {
  expect(detailLines({ request_id: 'r1', progress: { percent: 40 } })).toEqual([
    '  request_id: r1',
    '  progress: {"percent":40}',
  ]);
  expect(detailLines(undefined)).toEqual([]);
  expect(detailLines('plain')).toEqual(['  plain']);
});

it('prefixes a 4xx as rejected and anything else as failed', () => {
  const rejected = reportLines(
    'upload',
    http({
      details: [{ line: 2, column: 3, value: 'x', problem: 'not a URL' }],
    }),
    BASE,
  );
  expect(rejected).toEqual([
    'imgpipe: upload rejected: ERR_CSV_INVALID (HTTP 422): The CSV has 3 problems. Fix them and upload the file again.',
    '  line 2, column 3: not a URL (value: "x")',
  ]);
  expect(
    reportLines(
      'upload',
      http({
        status: 503,
        code: 'ERR_QUEUE_UNAVAILABLE',
        message: 'Kafka is down',
        retryAfterSeconds: 5,
      }),
      BASE,
    ),
  ).toEqual([
    'imgpipe: upload failed: ERR_QUEUE_UNAVAILABLE (HTTP 503): Kafka is down',
    'imgpipe asks to retry after 5 s.',
  ]);
});

it('names the base URL when nothing answers, or when what answers is not imgpipe', () => {
  expect(
    renderFailure(
      { kind: 'network', url: `${BASE}/status/x`, reason: 'connection refused (ECONNREFUSED)' },
      BASE,
    ),
  ).toEqual([
    `cannot reach imgpipe at ${BASE} (${BASE}/status/x): connection refused (ECONNREFUSED)`,
    'Is imgpipe running there? Point the CLI at it with --url or IMGPIPE_URL.',
  ]);
  expect(
    renderFailure(
      http({ status: 404, code: 'HTTP_404', message: 'Not Found', imgpipeShape: false }),
      BASE,
    ),
  ).toEqual([
    'HTTP_404 (HTTP 404): Not Found',
    `${BASE}/upload did not answer like imgpipe; is ${BASE} an imgpipe base URL?`,
  ]);
  expect(
    renderFailure(
      { kind: 'protocol', url: `${BASE}/upload`, status: 200, reason: 'expected JSON' },
      BASE,
    ),
  ).toEqual([
    `unexpected answer from ${BASE}/upload (HTTP 200): expected JSON`,
    `Is ${BASE} an imgpipe base URL?`,
  ]);
});
