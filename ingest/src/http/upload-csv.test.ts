/**
 * The CSV rules of issue #4, table-driven, through the real HTTP app (multipart, busboy,
 * csv-parse, validation, error rendering) with in-memory fakes of Kafka/S3/Cassandra. Each
 * case asserts what the client sees: the status, the error code and the reported line; a
 * rejected upload must leave nothing behind (no event, no stored object, no spooled file).
 */
import { Topics } from '@imgpipe/schemas';
import { csvForm, post, startWithFakes, type FakeIngest } from '../testing/harness';

const HEADER = 'S. No.,Product Name,Input Image Urls';
const u = (n: number) => `https://img.example.com/p/${n}.jpg`;
const lines = (...rows: string[]) => rows.join('\n') + '\n';

// Small limits so the limit cases stay small; the defaults are checked in config.test.ts.
const LIMITS = {
  UPLOAD_MAX_ROWS: '100',
  UPLOAD_MAX_IMAGES: '200',
  UPLOAD_MAX_BYTES: String(256 * 1024),
};

interface Case {
  name: string;
  csv: string | Buffer;
  status: number;
  /** Error code (rejections only). */
  code?: string;
  /** The line of the first reported problem (null = not about one line). */
  line?: number | null;
  /** Column of the first reported problem. */
  column?: number | null;
  products?: number;
  images?: number;
}

const accepted: Case[] = [
  {
    name: 'LF, quoted cell with two URLs',
    csv: lines(HEADER, `1,Shirt,"${u(1)},${u(2)}"`, `2,Shoe,${u(3)}`),
    status: 202,
    products: 2,
    images: 3,
  },
  {
    name: 'CRLF line endings',
    csv: `${HEADER}\r\n1,Shirt,${u(1)}\r\n2,Shoe,${u(2)}\r\n`,
    status: 202,
    products: 2,
    images: 2,
  },
  {
    name: 'UTF-8 BOM and CRLF (Excel "CSV UTF-8")',
    csv: `\ufeff${HEADER}\r\n1,Shirt,${u(1)}\r\n`,
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'extra URLs unquoted as more fields (public sample form)',
    csv: lines(HEADER, `1,Shirt,${u(1)},${u(2)},${u(3)}`, `2,Shoe,${u(4)}`),
    status: 202,
    products: 2,
    images: 4,
  },
  {
    name: 'header alias S.No / Input Image URLs',
    csv: lines('S.No,Product Name,Input Image URLs', `1,Shirt,${u(1)}`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'header alias Serial Number / Image Urls with spaces around names',
    csv: lines(' Serial Number , Product Name ,  Image Urls ', `1,Shirt,${u(1)}`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'header alias Sr No in other case',
    csv: lines('sr no,PRODUCT NAME,input image urls', `1,Shirt,${u(1)}`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'header alias S No',
    csv: lines('S No,Product Name,Input Image Urls', `1,Shirt,${u(1)}`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'columns in another order',
    csv: lines('Product Name,Input Image Urls,S. No.', `Shirt,${u(1)},1`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'blank lines, a row of empty cells and trailing blank lines are skipped',
    csv: `${HEADER}\n\n1,Shirt,${u(1)}\n,,\n\n2,Shoe,${u(2)}\n\n\n`,
    status: 202,
    products: 2,
    images: 2,
  },
  {
    name: 'spaces around URLs and an empty piece from a trailing comma',
    csv: lines(HEADER, `1,Shirt,"  ${u(1)} ,  ${u(2)} ,"`),
    status: 202,
    products: 1,
    images: 2,
  },
  {
    name: 'quoted product name with a comma, an escaped quote and a line break',
    csv: lines(HEADER, `1,"Shirt, ""blue""\nsize M",${u(1)}`, `2,Shoe,${u(2)}`),
    status: 202,
    products: 2,
    images: 2,
  },
  {
    name: 'no newline at the end of the file',
    csv: `${HEADER}\n1,Shirt,${u(1)}`,
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'duplicate URLs in a row are each processed',
    csv: lines(HEADER, `1,Shirt,"${u(1)},${u(1)}"`),
    status: 202,
    products: 1,
    images: 2,
  },
  {
    name: 'trailing empty header cells and trailing commas in rows',
    csv: lines(`${HEADER},,`, `1,Shirt,${u(1)},,`),
    status: 202,
    products: 1,
    images: 1,
  },
  {
    name: 'non-ASCII product names (UTF-8)',
    csv: lines(HEADER, `1,Café crème 👕,${u(1)}`, `2,Ботинки,${u(2)}`),
    status: 202,
    products: 2,
    images: 2,
  },
  {
    name: 'at the limits: 256-character name, 50 URLs in a row',
    csv: lines(
      HEADER,
      `1,${'n'.repeat(256)},"${Array.from({ length: 50 }, (_, i) => u(i)).join(',')}"`,
    ),
    status: 202,
    products: 1,
    images: 50,
  },
  {
    name: 'http and https URLs with ports, queries and fragments',
    csv: lines(
      HEADER,
      `1,Shirt,"http://127.0.0.1:8080/a.png?x=1&y=2,https://cdn.example/b.webp#frag"`,
    ),
    status: 202,
    products: 1,
    images: 2,
  },
];

const rejected: Case[] = [
  { name: 'empty file', csv: '', status: 400, code: 'ERR_FILE_EMPTY' },
  {
    name: 'only a BOM and blank lines',
    csv: '\ufeff\r\n\r\n  \n',
    status: 400,
    code: 'ERR_FILE_EMPTY',
  },
  {
    name: 'header only',
    csv: lines(HEADER),
    status: 422,
    code: 'ERR_CSV_NO_ROWS',
    line: null,
  },
  {
    name: 'no header (data first)',
    csv: lines(`1,Shirt,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_HEADER',
    line: 1,
  },
  {
    name: 'unknown column',
    csv: lines('S. No.,Product Name,Input Image Urls,Price', `1,Shirt,${u(1)},10`),
    status: 422,
    code: 'ERR_CSV_HEADER',
    line: 1,
    column: 4,
  },
  {
    name: 'missing column',
    csv: lines('S. No.,Input Image Urls', `1,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_HEADER',
    line: 1,
  },
  {
    name: 'column given twice',
    csv: lines('S. No.,Product Name,Product Name,Input Image Urls', `1,a,b,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_HEADER',
    line: 1,
    column: 3,
  },
  {
    name: 'header after blank lines is still line-numbered correctly',
    csv: `\n\nSerial,Product Name,Input Image Urls\n1,Shirt,${u(1)}\n`,
    status: 422,
    code: 'ERR_CSV_HEADER',
    line: 3,
    column: 1,
  },
  {
    name: 'serial number not a number',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `abc,Shoe,${u(2)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 1,
  },
  {
    name: 'serial number zero',
    csv: lines(HEADER, `0,Shirt,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 1,
  },
  {
    name: 'serial number negative',
    csv: lines(HEADER, `-3,Shirt,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 1,
  },
  {
    name: 'serial number with a decimal point',
    csv: lines(HEADER, `1.5,Shirt,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 1,
  },
  {
    name: 'serial number empty',
    csv: lines(HEADER, ` ,Shirt,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 1,
  },
  {
    name: 'duplicate serial number (reported on the second use)',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `2,Shoe,${u(2)}`, `1,Hat,${u(3)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 4,
    column: 1,
  },
  {
    name: 'duplicate serial number written with leading zeros',
    csv: lines(HEADER, `7,Shirt,${u(1)}`, `007,Shoe,${u(2)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 1,
  },
  {
    name: 'empty product name',
    csv: lines(HEADER, `1,  ,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 2,
  },
  {
    name: 'product name longer than 256 characters',
    csv: lines(HEADER, `1,${'n'.repeat(257)},${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 2,
  },
  {
    name: 'no image URL',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, '2,Shoe,'),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 3,
  },
  {
    name: 'ftp URL',
    csv: lines(HEADER, `1,Shirt,ftp://files.example/a.jpg`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'javascript: URL',
    csv: lines(HEADER, `1,Shirt,javascript:alert(1)`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'relative URL',
    csv: lines(HEADER, `1,Shirt,/images/a.jpg`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'URL without a host',
    csv: lines(HEADER, `1,Shirt,http://`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'URL with a space inside (two URLs without a comma)',
    csv: lines(HEADER, `1,Shirt,"${u(1)} ${u(2)}"`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'URL longer than 2048 characters',
    csv: lines(HEADER, `1,Shirt,https://img.example.com/${'a'.repeat(2048)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'a bad URL among good ones is reported on its own line and column',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `2,Shoe,"${u(2)},not-a-url"`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 3,
  },
  {
    name: '51 URLs in a row',
    csv: lines(HEADER, `1,Shirt,"${Array.from({ length: 51 }, (_, i) => u(i)).join(',')}"`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: 3,
  },
  {
    name: 'unquoted comma in the product name makes a non-URL extra field',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `2,Shoe, red,${u(2)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 3,
  },
  {
    name: 'too few fields',
    csv: lines(HEADER, `1,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 2,
    column: null,
  },
  {
    name: 'quote never closed',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `2,"Shoe,${u(2)}`, `3,Hat,${u(3)}`),
    status: 422,
    code: 'ERR_CSV_SYNTAX',
    line: 3,
  },
  {
    name: 'stray quote inside an unquoted field',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `2,12" Shoe,${u(2)}`),
    status: 422,
    code: 'ERR_CSV_SYNTAX',
    line: 3,
    column: 2,
  },
  {
    name: 'text after a closing quote',
    csv: lines(HEADER, `1,"Shirt"s,${u(1)}`),
    status: 422,
    code: 'ERR_CSV_SYNTAX',
    line: 2,
  },
  {
    name: 'problems on several rows: the first is reported first',
    csv: lines(HEADER, `1,Shirt,${u(1)}`, `x,Shoe,${u(2)}`, `3,,${u(3)}`),
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 3,
    column: 1,
  },
  {
    name: 'lines stay right after a quoted CRLF line break',
    csv: `${HEADER}\r\n1,"Shirt\r\nblue",${u(1)}\r\n\r\n2,,${u(2)}\r\n`,
    status: 422,
    code: 'ERR_CSV_INVALID',
    line: 5,
    column: 2,
  },
  {
    name: 'not UTF-8 (Latin-1 é)',
    csv: Buffer.concat([
      Buffer.from(`${HEADER}\n1,Shirt,${u(1)}\n2,Caf`),
      Buffer.from([0xe9]),
      Buffer.from(`,${u(2)}\n`),
    ]),
    status: 415,
    code: 'ERR_CSV_ENCODING',
    line: 3,
  },
  {
    name: 'UTF-16 file (BOM)',
    csv: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\n`, 'utf16le')]),
    status: 415,
    code: 'ERR_CSV_ENCODING',
    line: 1,
  },
  {
    name: 'binary file (NUL bytes)',
    csv: Buffer.concat([Buffer.from(`${HEADER}\n1,Shirt,`), Buffer.from([0, 1, 2, 3])]),
    status: 415,
    code: 'ERR_CSV_BINARY',
    line: 2,
  },
  {
    name: 'an Excel workbook (.xlsx is a ZIP)',
    csv: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from([20, 0, 6, 0])]),
    status: 415,
    code: 'ERR_CSV_BINARY',
    line: 1,
  },
  {
    name: 'more rows than the limit (100 here)',
    csv: lines(HEADER, ...Array.from({ length: 101 }, (_, i) => `${i + 1},P${i},${u(i)}`)),
    status: 422,
    code: 'ERR_CSV_TOO_MANY_ROWS',
    line: 102,
  },
  {
    name: 'more images than the limit (200 here)',
    csv: lines(
      HEADER,
      ...Array.from(
        { length: 5 },
        (_, i) => `${i + 1},P${i},"${Array.from({ length: 41 }, (_, k) => u(k)).join(',')}"`,
      ),
    ),
    status: 422,
    code: 'ERR_CSV_TOO_MANY_IMAGES',
    line: 6,
  },
  {
    name: 'larger than the file size limit (256 KiB here)',
    csv: lines(
      HEADER,
      ...Array.from({ length: 3000 }, (_, i) => `${i + 1},${'x'.repeat(60)},${u(i)}`),
    ),
    status: 413,
    code: 'ERR_FILE_TOO_LARGE',
  },
];

describe('POST /upload: CSV rules (table)', () => {
  let svc: FakeIngest;
  beforeAll(async () => {
    svc = await startWithFakes(LIMITS);
  });
  afterAll(async () => {
    await svc.stop();
  });
  beforeEach(() => {
    svc.publisher.calls.length = 0;
    svc.inputs.objects.clear();
  });

  it('has at least 30 cases', () => {
    expect(accepted.length + rejected.length).toBeGreaterThanOrEqual(30);
  });

  it.each(accepted)('accepts: $name', async (c) => {
    const res = await post(`${svc.url}/upload`, csvForm(c.csv));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', products: c.products, images: c.images });
    const requestId = res.body.request_id as string;
    const events = svc.publisher.events();
    expect(events.filter((e) => e.name === 'ImageRequested')).toHaveLength(c.images!);
    expect(events[0]).toMatchObject({ name: 'RequestAccepted', key: requestId });
    expect(svc.inputs.objects.get(`inputs/${requestId}.csv`)).toEqual(
      typeof c.csv === 'string' ? Buffer.from(c.csv) : c.csv,
    );
    expect(await svc.spooled()).toEqual([]);
  });

  it.each(rejected)('rejects: $name → $status $code', async (c) => {
    const res = await post(`${svc.url}/upload`, csvForm(c.csv));
    expect(res.status).toBe(c.status);
    expect(res.body.error?.code).toBe(c.code);
    expect(typeof res.body.error?.message).toBe('string');
    // The first problem names the line (undefined: the case has no per-line details) and,
    // where the case says so, the column.
    const first = res.body.error?.details?.[0];
    expect(first?.line).toBe(c.line);
    expect(c.column === undefined ? undefined : first?.column).toBe(c.column);
    expect(first === undefined || typeof first.problem === 'string').toBe(true);
    // Nothing published, nothing stored, nothing left on disk.
    expect(svc.publisher.calls).toEqual([]);
    expect(svc.inputs.objects.size).toBe(0);
    expect(await svc.spooled()).toEqual([]);
  });

  it('reports every problem of a row, with line, column, value and problem', async () => {
    const res = await post(`${svc.url}/upload`, csvForm(lines(HEADER, '0,,ftp://x/a.jpg')));
    expect(res.status).toBe(422);
    expect(res.body.error?.details).toEqual([
      {
        line: 2,
        column: 1,
        value: '0',
        problem: expect.stringContaining('positive whole number') as string,
      },
      {
        line: 2,
        column: 2,
        value: '',
        problem: expect.stringContaining('product name is empty') as string,
      },
      {
        line: 2,
        column: 3,
        value: 'ftp://x/a.jpg',
        problem: expect.stringContaining('"ftp"') as string,
      },
    ]);
  });

  it('lists at most 100 problems and says how many there are', async () => {
    const rows = Array.from({ length: 90 }, (_, i) => `x${i},,${u(i)}`);
    const res = await post(`${svc.url}/upload`, csvForm(lines(HEADER, ...rows)));
    expect(res.status).toBe(422);
    expect(res.body.error?.details).toHaveLength(100);
    expect(res.body.error?.message).toContain('180 problems');
  });

  it('names the expected header when the header is wrong', async () => {
    const res = await post(`${svc.url}/upload`, csvForm(lines('id,name,url', `1,a,${u(1)}`)));
    expect(res.status).toBe(422);
    expect(res.body.error?.message).toContain(HEADER);
    expect(res.body.error?.details?.[0]?.problem).toContain(HEADER);
  });

  it('keeps serial numbers, names and URLs exactly as given, in input order', async () => {
    const csv = lines(HEADER, `007,"Shirt, blue"," ${u(1)}, ${u(2)} "`, `3,Shoe,${u(3)},${u(4)}`);
    const res = await post(`${svc.url}/upload`, csvForm(csv));
    expect(res.status).toBe(202);
    const images = svc.publisher
      .events()
      .filter((e) => e.name === 'ImageRequested')
      .map((e) => e.value);
    expect(
      images.map((v) => [v.productIndex, v.imageIndex, v.serialNumber, v.productName, v.inputUrl]),
    ).toEqual([
      [0, 0, '007', 'Shirt, blue', u(1)],
      [0, 1, '007', 'Shirt, blue', u(2)],
      [1, 0, '3', 'Shoe', u(3)],
      [1, 1, '3', 'Shoe', u(4)],
    ]);
    expect(svc.publisher.calls.map((c) => c.topic)).toEqual([
      Topics.requestEvents.name,
      Topics.imagesRequested.name,
    ]);
  });
});
