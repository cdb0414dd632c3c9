/**
 * Test images, generated with sharp at test time (no binary fixtures in the repo). Photos are
 * noisy gradients saved at high quality, so quality-50 recompression has something to remove.
 */
import sharp from 'sharp';

/** Deterministic noise: same bytes every run. */
function noise(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Raw RGB(A) pixels of a smooth gradient with grain. */
export function photoPixels(width: number, height: number, channels: 3 | 4 = 3, seed = 1): Buffer {
  const rnd = noise(seed);
  const px = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const grain = (rnd() - 0.5) * 40;
      px[i] = clamp((x / width) * 255 + grain);
      px[i + 1] = clamp((y / height) * 255 + grain);
      px[i + 2] = clamp(128 + 100 * Math.sin((x + y) / 17) + grain);
      // Left third opaque, middle half-transparent, right third fully transparent.
      if (channels === 4) px[i + 3] = x < width / 3 ? 255 : x < (2 * width) / 3 ? 128 : 0;
    }
  }
  return px;
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

const raw = (width: number, height: number, channels: 3 | 4 = 3, seed = 1) =>
  sharp(photoPixels(width, height, channels, seed), { raw: { width, height, channels } });

export const photoJpeg = (width = 640, height = 480, quality = 95) =>
  raw(width, height).jpeg({ quality }).toBuffer();

export const photoPng = (width = 320, height = 240) => raw(width, height).png().toBuffer();

/**
 * Stored 80×40 (left half red, right half blue) with EXIF Orientation 6 (display rotated 90°
 * clockwise, so upright it is 40×80 with red on top), plus a camera make and GPS position.
 */
export async function exifRotatedJpeg(): Promise<Buffer> {
  const width = 80;
  const height = 40;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) px[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
  }
  return sharp(px, { raw: { width, height, channels: 3 } })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'SecretCam', Orientation: '6' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 29/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 40/1',
      },
    })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** True when an EXIF block holds a GPS IFD pointer (tag 0x8825, either byte order). */
export const hasGpsPointer = (exif: Buffer | undefined): boolean =>
  exif !== undefined &&
  (exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88])));

export const cmykJpeg = () => raw(200, 150).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();

/** RGBA PNG: opaque, half-transparent and fully transparent thirds. */
export const alphaPng = () => raw(120, 90, 4).png().toBuffer();

export const png16 = () => raw(160, 120).toColourspace('rgb16').png().toBuffer();

/** Three 48×48 frames: red, green, blue. */
export async function animatedGif(): Promise<Buffer> {
  const colours = [
    { r: 255, g: 0, b: 0 },
    { r: 0, g: 255, b: 0 },
    { r: 0, g: 0, b: 255 },
  ];
  const frames = await Promise.all(
    colours.map((background) =>
      sharp({ create: { width: 48, height: 48, channels: 3, background } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(frames, { join: { animated: true } })
    .gif({ delay: [100, 100, 100] })
    .toBuffer();
}

/** The first half of a real JPEG: header intact, scan data cut off. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await photoJpeg(320, 240);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/**
 * A tiny PNG whose header declares `width`×`height` (a decompression bomb's calling card):
 * a real 1×1 PNG from sharp with its IHDR rewritten and re-checksummed.
 */
export async function pngDeclaring(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  );
  // Signature (8) + IHDR length (4) + type (4) → width at 16, height at 20, CRC at 29.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** An SVG document (never accepted, whatever the URL or Content-Type says). */
export const svg = () =>
  Buffer.from(
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  );

export const html = () => Buffer.from('<!doctype html><html><body>Not an image</body></html>');
