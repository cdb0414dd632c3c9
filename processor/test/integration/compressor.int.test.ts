/**
 * The sharp compressor on real images generated here: orientation and metadata stripping,
 * colour spaces, alpha, bit depth, animation, output formats, resizing, and every failure
 * code that comes from decoding.
 */
import sharp from 'sharp';
import type { CompressionOptions, ImageFormat } from '@imgpipe/schemas';
import { configureSharp, createSharpCompressor } from '../../src/adapters/sharp/compressor';
import type { Compressed } from '../../src/domain/ports';
import type { Result } from '../../src/domain/failure';
import {
  alphaPng,
  animatedGif,
  cmykJpeg,
  exifRotatedJpeg,
  hasGpsPointer,
  photoJpeg,
  photoPng,
  png16,
  pngDeclaring,
  truncatedJpeg,
} from './support/fixtures';

configureSharp(1);
const compressor = createSharpCompressor({ maxPixels: 50_000_000, timeoutMs: 10_000 });

const options = (over: Partial<CompressionOptions> = {}): CompressionOptions => ({
  quality: 50,
  format: 'keep',
  maxDimension: null,
  ...over,
});

const compress = (bytes: Buffer, format: ImageFormat, over: Partial<CompressionOptions> = {}) =>
  compressor.compress({ bytes, format, options: options(over) });

function value(result: Result<Compressed>): Compressed {
  if (!result.ok)
    throw new Error(`expected success, got ${result.failure.code}: ${result.failure.message}`);
  return result.value;
}

/** Reads one pixel of an encoded image as RGBA. */
async function pixel(bytes: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * 4;
  return [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
}

describe('sharp compressor', () => {
  it('recompresses a JPEG at quality 50: smaller, same size, still a JPEG', async () => {
    const input = await photoJpeg(640, 480, 95);
    const { output, input: size } = value(await compress(input, 'jpeg'));
    expect(output.format).toBe('jpeg');
    expect(output.bytes.length).toBeLessThan(input.length * 0.7);
    expect([output.width, output.height]).toEqual([640, 480]);
    expect(size).toEqual({ width: 640, height: 480 });
    const meta = await sharp(output.bytes).metadata();
    expect(meta.format).toBe('jpeg');
  });

  it('turns an EXIF-rotated JPEG upright and strips EXIF (GPS included)', async () => {
    const input = await exifRotatedJpeg();
    const inMeta = await sharp(input).metadata();
    expect(inMeta.orientation).toBe(6);
    expect(inMeta.exif?.includes('SecretCam')).toBe(true);
    expect(hasGpsPointer(inMeta.exif)).toBe(true);

    const { output } = value(await compress(input, 'jpeg'));
    expect([output.width, output.height]).toEqual([40, 80]);
    const meta = await sharp(output.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([40, 80]);
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    // Stored left half (red) is on top once upright.
    const top = await pixel(output.bytes, 20, 5);
    const bottom = await pixel(output.bytes, 20, 75);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('keeps an ICC profile, while stripping the rest', async () => {
    const input = await sharp(await photoJpeg(120, 90))
      .withIccProfile('p3')
      .withExif({ IFD0: { Make: 'SecretCam' } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const inIcc = (await sharp(input).metadata()).icc;
    expect(inIcc).toBeDefined();
    const { output } = value(await compress(input, 'jpeg'));
    const meta = await sharp(output.bytes).metadata();
    expect(meta.icc).toBeDefined();
    expect(meta.icc?.equals(inIcc!)).toBe(true);
    expect(meta.exif).toBeUndefined();
  });

  it('converts a CMYK JPEG to an sRGB JPEG', async () => {
    const input = await cmykJpeg();
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    const { output } = value(await compress(input, 'jpeg'));
    const meta = await sharp(output.bytes).metadata();
    expect(meta.space).toBe('srgb');
    expect(meta.channels).toBe(3);
    expect([output.width, output.height]).toEqual([200, 150]);
  });

  it('keeps PNG alpha, and flattens it on white for JPEG output', async () => {
    const input = await alphaPng();
    const png = value(await compress(input, 'png'));
    expect(png.output.format).toBe('png');
    const pngMeta = await sharp(png.output.bytes).metadata();
    expect(pngMeta.hasAlpha).toBe(true);
    expect((await pixel(png.output.bytes, 110, 45))[3]).toBe(0);
    expect((await pixel(png.output.bytes, 5, 45))[3]).toBe(255);

    const jpeg = value(await compress(input, 'png', { format: 'jpeg' }));
    expect(jpeg.output.format).toBe('jpeg');
    expect((await sharp(jpeg.output.bytes).metadata()).hasAlpha).toBe(false);
    const transparent = await pixel(jpeg.output.bytes, 110, 45);
    expect(Math.min(...transparent.slice(0, 3))).toBeGreaterThan(235);

    const webp = value(await compress(input, 'png', { format: 'webp' }));
    expect((await sharp(webp.output.bytes).metadata()).hasAlpha).toBe(true);
  });

  it('quantises PNG to a palette at the requested quality (or keeps lossless when smaller)', async () => {
    const input = await photoPng(320, 240);
    const { output } = value(await compress(input, 'png'));
    expect(output.bytes.length).toBeLessThan(input.length);
    const meta = await sharp(output.bytes).metadata();
    expect(meta.format).toBe('png');
    expect(meta.isPalette).toBe(true);
  });

  it('reads a 16-bit PNG', async () => {
    const input = await png16();
    expect((await sharp(input).metadata()).depth).toBe('ushort');
    const { output } = value(await compress(input, 'png'));
    expect(output.format).toBe('png');
    expect([output.width, output.height]).toEqual([160, 120]);
    expect(output.bytes.length).toBeLessThan(input.length);
  });

  it('keeps animation for GIF and WebP output, first frame for JPEG/AVIF', async () => {
    const input = await animatedGif();
    expect((await sharp(input).metadata()).pages).toBe(3);

    const gif = value(await compress(input, 'gif'));
    expect(gif.output.format).toBe('gif');
    expect((await sharp(gif.output.bytes).metadata()).pages).toBe(3);
    expect([gif.output.width, gif.output.height]).toEqual([48, 48]);

    const webp = value(await compress(input, 'gif', { format: 'webp' }));
    expect((await sharp(webp.output.bytes).metadata()).pages).toBe(3);
    expect([webp.output.width, webp.output.height]).toEqual([48, 48]);

    const jpeg = value(await compress(input, 'gif', { format: 'jpeg' }));
    const jpegMeta = await sharp(jpeg.output.bytes).metadata();
    expect([jpegMeta.width, jpegMeta.height]).toEqual([48, 48]);
    expect((await pixel(jpeg.output.bytes, 24, 24))[0]).toBeGreaterThan(200);
  });

  it.each(['webp', 'avif'] as const)('writes %s output', async (format) => {
    const input = await photoJpeg(320, 240);
    const { output } = value(await compress(input, 'jpeg', { format }));
    expect(output.format).toBe(format);
    const meta = await sharp(output.bytes).metadata();
    expect(meta.format).toBe(format === 'avif' ? 'heif' : format);
    expect(meta.compression).toBe(format === 'avif' ? 'av1' : undefined);
    expect([meta.width, meta.height]).toEqual([320, 240]);
    expect(output.bytes.length).toBeLessThan(input.length);
  });

  it('fits inside max_dimension, never enlarging', async () => {
    const input = await photoJpeg(400, 300);
    const small = value(await compress(input, 'jpeg', { maxDimension: 100 }));
    expect([small.output.width, small.output.height]).toEqual([100, 75]);
    const meta = await sharp(small.output.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([100, 75]);
    const big = value(await compress(input, 'jpeg', { maxDimension: 2000 }));
    expect([big.output.width, big.output.height]).toEqual([400, 300]);
    const tall = value(await compress(await exifRotatedJpeg(), 'jpeg', { maxDimension: 40 }));
    expect([tall.output.width, tall.output.height]).toEqual([20, 40]);
  });

  it('a higher quality gives a bigger file', async () => {
    const input = await photoJpeg(320, 240, 100);
    const q20 = value(await compress(input, 'jpeg', { quality: 20 }));
    const q90 = value(await compress(input, 'jpeg', { quality: 90 }));
    expect(q20.output.bytes.length).toBeLessThan(q90.output.bytes.length);
  });

  it('reads TIFF input and keeps it TIFF', async () => {
    const input = await sharp(await photoJpeg(200, 100))
      .tiff()
      .toBuffer();
    const { output } = value(await compress(input, 'tiff'));
    expect(output.format).toBe('tiff');
    expect((await sharp(output.bytes).metadata()).format).toBe('tiff');
  });

  it('TOO_MANY_PIXELS for a small PNG declaring 20000×20000, before decoding', async () => {
    const input = await pngDeclaring(20_000, 20_000);
    expect(input.length).toBeLessThan(200);
    const result = await compress(input, 'png');
    expect(result).toMatchObject({
      ok: false,
      failure: { code: 'TOO_MANY_PIXELS', transient: false },
    });
    expect(!result.ok && result.failure.message).toContain('20000×20000');
  });

  it('CORRUPT_IMAGE for a truncated JPEG', async () => {
    const result = await compress(await truncatedJpeg(), 'jpeg');
    expect(result).toMatchObject({
      ok: false,
      failure: { code: 'CORRUPT_IMAGE', transient: false },
    });
  });

  it('CORRUPT_IMAGE for bytes that only look like a PNG', async () => {
    const fake = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64, 0x42),
    ]);
    const result = await compress(fake, 'png');
    expect(result).toMatchObject({ ok: false, failure: { transient: false } });
    expect(!result.ok && ['CORRUPT_IMAGE', 'UNSUPPORTED_FORMAT']).toContain(
      !result.ok && result.failure.code,
    );
  });

  it('refuses invalid options instead of guessing', async () => {
    const input = await photoJpeg(32, 32);
    await expect(compress(input, 'jpeg', { quality: 0 })).resolves.toMatchObject({
      ok: false,
      failure: { code: 'INTERNAL' },
    });
  });
});
