import { sniffImageFormat } from './signature';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );

const ftyp = (major: string, ...compatible: string[]) => {
  const body = bytes('ftyp', major, [0, 0, 0, 0], ...compatible);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(body.length + 4);
  return Buffer.concat([size, body, Buffer.alloc(16)]);
};

describe('sniffImageFormat', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')],
    ['png', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a], 'rest')],
    ['gif', bytes('GIF89a', [1, 0])],
    ['gif', bytes('GIF87a', [1, 0])],
    ['webp', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
    ['tiff', bytes('II', [0x2a, 0], 'rest')],
    ['tiff', bytes('MM', [0, 0x2a], 'rest')],
    ['avif', ftyp('avif', 'mif1', 'miaf')],
    ['avif', ftyp('mif1', 'avif')],
    ['avif', ftyp('avis', 'msf1')],
  ])('recognises %s', (format, input) => {
    expect(sniffImageFormat(input)).toBe(format);
  });

  it.each([
    ['SVG', bytes('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['bare SVG', bytes('<svg width="10" height="10"></svg>')],
    ['HTML', bytes('<!doctype html><html><body>not found</body></html>')],
    ['PDF', bytes('%PDF-1.7')],
    ['HEIC', ftyp('heic', 'mif1', 'heic')],
    ['RIFF that is not WebP', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ')],
    ['empty', Buffer.alloc(0)],
    ['two JPEG bytes', bytes([0xff, 0xd8])],
    [
      'a lying ftyp size',
      Buffer.concat([Buffer.from([0, 0, 0, 8]), bytes('ftypavif'), Buffer.alloc(12)]),
    ],
  ])('refuses %s', (_label, input) => {
    expect(sniffImageFormat(input)).toBeNull();
  });
});
