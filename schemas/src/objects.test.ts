import { inputCsvKey, inputSummaryFromMetadata, inputSummaryMetadata } from './objects';

const summary = {
  products: 4,
  images: 9,
  acceptedAt: 1_768_469_400_000,
  options: { quality: 60, format: 'webp' as const, maxDimension: 1200 },
  hasWebhook: true,
};

it('keys the input CSV by request id', () => {
  expect(inputCsvKey('0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70')).toBe(
    'inputs/0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70.csv',
  );
});

it('round-trips the summary through S3 metadata (ASCII strings only)', () => {
  const meta = inputSummaryMetadata(summary);
  for (const [k, v] of Object.entries(meta)) expect(`${k}${v}`).toMatch(/^[\x20-\x7e]*$/);
  expect(inputSummaryFromMetadata(meta)).toEqual(summary);
  const plain = {
    ...summary,
    options: { ...summary.options, maxDimension: null },
    hasWebhook: false,
  };
  expect(inputSummaryFromMetadata(inputSummaryMetadata(plain))).toEqual(plain);
});

it('reads nothing from an object ingest did not describe, or described before options were stored', () => {
  expect(inputSummaryFromMetadata({})).toBeUndefined();
  const meta = inputSummaryMetadata(summary);
  expect(inputSummaryFromMetadata({ ...meta, 'imgpipe-images': 'nine' })).toBeUndefined();
  expect(inputSummaryFromMetadata({ ...meta, 'imgpipe-format': 'bmp' })).toBeUndefined();
  const { 'imgpipe-quality': _q, ...older } = meta;
  expect(inputSummaryFromMetadata(older)).toBeUndefined();
});
