/**
 * The streaming checker on its own: the verdict must not depend on how the bytes are cut
 * into chunks (multi-byte characters, BOM and CRLF split across chunks), and line numbers
 * must be physical lines of the file.
 */
import { DEFAULT_LIMITS } from '../limits';
import { checkCsv, type CsvCheckResult } from './csv-checker';
import { firstInvalidUtf8 } from './utf8';

const HEADER = 'S. No.,Product Name,Input Image Urls';

const chunked = (bytes: Buffer, size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
};

const summary = (r: CsvCheckResult) =>
  r.ok
    ? { ok: true, products: r.products, images: r.images, bytes: r.bytes }
    : { ok: false, code: r.error.code, status: r.error.httpStatus, details: r.error.details };

describe('CsvChecker', () => {
  const valid = Buffer.from(
    `\ufeff${HEADER}\r\n1,"Café, ""crème""\r\nbrûlée 🍮",https://a.example/1.jpg\r\n\r\n2,Ботинки,"https://a.example/2.jpg, https://a.example/3.jpg"\r\n`,
  );

  it.each([1, 2, 3, 5, 64])(
    'gives the same verdict whatever the chunk size (%i bytes)',
    async (size) => {
      const whole = summary(await checkCsv(valid, DEFAULT_LIMITS));
      expect(summary(await checkCsv(chunked(valid, size), DEFAULT_LIMITS))).toEqual(whole);
      expect(whole).toMatchObject({
        ok: true,
        images: 3,
        bytes: valid.length,
        products: [
          {
            productIndex: 0,
            line: 2,
            serialNumber: '1',
            productName: 'Café, "crème"\r\nbrûlée 🍮',
          },
          { productIndex: 1, line: 5, serialNumber: '2', productName: 'Ботинки' },
        ],
      });
    },
  );

  it.each([1, 7, 4096])(
    'finds a non-UTF-8 byte and its line whatever the chunk size (%i bytes)',
    async (size) => {
      const bytes = Buffer.concat([
        Buffer.from(`${HEADER}\n1,Ünïcödé,https://a.example/1.jpg\n2,Caf`),
        Buffer.from([0xe9, 0x20]),
        Buffer.from('au lait,https://a.example/2.jpg\n'),
      ]);
      const r = await checkCsv(chunked(bytes, size), DEFAULT_LIMITS);
      expect(summary(r)).toMatchObject({
        ok: false,
        status: 415,
        code: 'ERR_CSV_ENCODING',
        details: [{ line: 3 }],
      });
    },
  );

  it('rejects a file that ends inside a multi-byte character', async () => {
    const bytes = Buffer.concat([Buffer.from(`${HEADER}\n1,Caf`), Buffer.from([0xc3])]);
    const r = await checkCsv(chunked(bytes, 3), DEFAULT_LIMITS);
    expect(summary(r)).toMatchObject({
      ok: false,
      code: 'ERR_CSV_ENCODING',
      details: [{ line: 2 }],
    });
  });

  it('keeps reading (and ignoring) the rest of the input after a fatal problem', async () => {
    // The caller must be able to drain an upload of any size after the verdict is known.
    const rest = Array.from({ length: 2000 }, () => Buffer.from('garbage "line\n'));
    const r = await checkCsv([Buffer.from('PK\x03\x04', 'latin1'), ...rest], DEFAULT_LIMITS);
    expect(summary(r)).toMatchObject({ ok: false, code: 'ERR_CSV_BINARY' });
    expect(r.bytes).toBe(4 + rest.reduce((n, b) => n + b.length, 0));
  });

  it('does not keep rows once the file is known to be rejected', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => `${i + 1},P,https://a.example/${i}.jpg`);
    const r = await checkCsv(
      `${HEADER}\nx,P,https://a.example/x.jpg\n${rows.join('\n')}\n`,
      DEFAULT_LIMITS,
    );
    expect(r.ok).toBe(false);
    expect('products' in r).toBe(false);
  });

  it('applies configured limits', async () => {
    const limits = { ...DEFAULT_LIMITS, maxRows: 2, maxUrlsPerRow: 2 };
    const three = `${HEADER}\n1,a,https://a/1\n2,b,https://a/2\n3,c,https://a/3\n`;
    expect(summary(await checkCsv(three, limits))).toMatchObject({
      code: 'ERR_CSV_TOO_MANY_ROWS',
      details: [{ line: 4 }],
    });
    const wide = `${HEADER}\n1,a,"https://a/1,https://a/2,https://a/3"\n`;
    expect(summary(await checkCsv(wide, limits))).toMatchObject({
      code: 'ERR_CSV_INVALID',
      details: [{ line: 2, column: 3, problem: expect.stringContaining('at most 2') as string }],
    });
  });
});

describe('firstInvalidUtf8', () => {
  it.each([
    ['ascii', Buffer.from('abc'), -1],
    ['valid multi-byte', Buffer.from('é🍮ж'), -1],
    ['lone continuation byte in the middle', Buffer.from([0x61, 0x80, 0x62]), 1],
    ['Latin-1 é followed by ASCII', Buffer.from([0x61, 0xe9, 0x62]), 1],
    ['overlong encoding of "/"', Buffer.from([0xc0, 0xaf]), 0],
    ['UTF-16 surrogate encoded in UTF-8', Buffer.from([0xed, 0xa0, 0x80]), 0],
    ['above U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0],
    ['continuation bytes finishing the previous chunk', Buffer.from([0x80, 0x80, 0x61]), -1],
    ['character cut at the end of the chunk', Buffer.from([0x61, 0xe2, 0x82]), -1],
    ['cut character with a bad byte', Buffer.from([0x61, 0xe2, 0x41]), 1],
  ])('%s', (_name, bytes, expected) => {
    expect(firstInvalidUtf8(bytes)).toBe(expected);
  });
});
