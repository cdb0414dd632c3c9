import type { StatusBody } from './api';
import {
  elapsedSeconds,
  finalSummaryLines,
  formatBytes,
  formatDuration,
  formatEta,
  formatRate,
  imageLine,
  savedPercent,
  statusSummaryLines,
} from './format';

const body = (over: Partial<StatusBody> = {}): StatusBody => ({
  request_id: '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70',
  status: 'COMPLETED_WITH_ERRORS',
  progress: { total: 9, compressed: 8, failed: 1, pending: 0, percent: 100 },
  created_at: '2025-01-01T10:00:00.000Z',
  updated_at: '2025-01-01T10:01:05.000Z',
  completed_at: '2025-01-01T10:01:05.000Z',
  bytes_in: 4 * 1024 * 1024,
  bytes_out: 1024 * 1024,
  ...over,
});

it('formats sizes in binary units with three significant digits', () => {
  expect([0, 1023, 1024, 1536, 10_500, 150 * 1024, 5 * 1024 ** 3].map(formatBytes)).toEqual([
    '0 B',
    '1023 B',
    '1.00 KiB',
    '1.50 KiB',
    '10.3 KiB',
    '150 KiB',
    '5.00 GiB',
  ]);
});

it('formats durations with two units at most', () => {
  expect([0, 42.4, 59.6, 65, 3599, 3725, 90_000, -1].map(formatDuration)).toEqual([
    '0s',
    '42s',
    '1m00s',
    '1m05s',
    '59m59s',
    '1h02m',
    '1d01h',
    '?',
  ]);
});

it('formats rates per second, or per minute below one a second', () => {
  expect([undefined, 0, 0.2, 1, 2.54, 12.4, 250].map(formatRate)).toEqual([
    '– images/s',
    '0 images/min',
    '12 images/min',
    '1.0 images/s',
    '2.5 images/s',
    '12 images/s',
    '250 images/s',
  ]);
  expect(formatEta(undefined)).toBe('–');
  expect(formatEta(125)).toBe('2m05s');
});

it('says how much was saved only when something was measured', () => {
  expect(savedPercent(1000, 380)).toBe('62.0 %');
  expect(savedPercent(0, 0)).toBeUndefined();
  expect(elapsedSeconds('2025-01-01T10:00:00Z', '2025-01-01T10:00:30Z')).toBe(30);
  expect(elapsedSeconds('2025-01-01T10:00:00Z', null)).toBeUndefined();
});

it('summarises a finished request', () => {
  expect(finalSummaryLines(body())).toEqual([
    'COMPLETED_WITH_ERRORS: 8 compressed, 1 failed of 9 images in 1m05s',
    'bytes: 4.00 MiB in → 1.00 MiB out (saved 75.0 %)',
  ]);
  expect(finalSummaryLines(body({ status: 'FAILED', failure_reason: 'timed out' }))).toContain(
    'reason: timed out',
  );
});

it('lines up the status summary and leaves out what the body does not have', () => {
  expect(
    statusSummaryLines(
      body({
        webhook: { state: 'SUCCEEDED', attempts: 1, last_status_code: 204 },
        output_csv_url: 'http://x/requests/1/output.csv',
        options: { quality: 60, format: 'webp', max_dimension: null },
      }),
    ),
  ).toEqual([
    'request     0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70',
    'status      COMPLETED_WITH_ERRORS',
    'progress    100 % (8 compressed, 1 failed, 0 pending of 9 images)',
    'bytes       4.00 MiB in → 1.00 MiB out (saved 75.0 %)',
    'options     quality 60, format webp, max dimension none (keep size)',
    'created     2025-01-01T10:00:00.000Z',
    'completed   2025-01-01T10:01:05.000Z (took 1m05s)',
    'webhook     SUCCEEDED (1 attempt, last answer 204)',
    'output CSV  http://x/requests/1/output.csv',
  ]);
  const pending = statusSummaryLines(
    body({ status: 'PENDING', completed_at: null, bytes_in: 0, bytes_out: 0 }),
  );
  expect(pending).toContain('bytes     0 B in → 0 B out');
  expect(pending.some((l) => l.startsWith('completed'))).toBe(false);
});

it('describes an image by its outcome', () => {
  const image = {
    position: 2,
    input_url: 'http://origin/a.jpg',
    output_url: 'http://x/images/1/1/2',
    status: 'COMPRESSED',
    failure_code: null,
    failure_message: null,
    bytes_in: 2048,
    bytes_out: 1024,
    width: 800,
    height: 600,
    format: 'jpeg',
  };
  expect(imageLine(image)).toBe(
    '  image 2  COMPRESSED 2.00 KiB → 1.00 KiB jpeg 800×600  http://x/images/1/1/2',
  );
  expect(
    imageLine({
      ...image,
      status: 'FAILED',
      output_url: null,
      failure_code: 'HTTP_NOT_FOUND',
      failure_message: 'the image URL answered 404',
    }),
  ).toBe('  image 2  FAILED HTTP_NOT_FOUND: the image URL answered 404  http://origin/a.jpg');
});
