import type { ImageFormat } from '@imgpipe/schemas';

/**
 * Decides an image's type from its first bytes — never from the URL or Content-Type, which a
 * hostile origin controls. Only the six formats the processor accepts are recognised; SVG,
 * HTML, PDF, HEIC and everything else answer `null` (→ UNSUPPORTED_FORMAT).
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const at = (offset: number, ...expected: number[]) =>
    expected.every((b, i) => bytes[offset + i] === b);
  const ascii = (offset: number, text: string) =>
    at(offset, ...Array.from(text, (c) => c.charCodeAt(0)));

  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (isAvif(bytes)) return 'avif';
  return null;
}

/**
 * ISO-BMFF: `[size]ftyp[major][minor][compatible…]`. AVIF when the major or a compatible brand
 * is `avif` (still) or `avis` (sequence); HEIC (`heic`, `mif1` alone…) is HEVC, which the
 * processor does not accept.
 */
function isAvif(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (text(4) !== 'ftyp') return false;
  const boxSize = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const end = Math.min(boxSize, bytes.length, 4096);
  if (boxSize < 16) return false;
  const brands = [text(8)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(text(offset));
  return brands.some((b) => b === 'avif' || b === 'avis');
}
