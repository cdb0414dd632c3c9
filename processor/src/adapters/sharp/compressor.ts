/**
 * Compression with sharp — the only file that imports sharp (../shared/STYLE.md, Layout).
 *
 * Untrusted-input rules (issue 5, step 2; ../shared/notes/reliability.md §4.4): the pixel
 * limit is checked on the header before decoding and enforced again by `limitInputPixels`;
 * `failOn: 'error'` turns damaged data into CORRUPT_IMAGE instead of a half-grey picture;
 * a libvips timeout bounds CPU per image; never `unlimited`.
 *
 * Output: auto-oriented (EXIF orientation applied, then dropped), every metadata block
 * stripped (EXIF, GPS, XMP, IPTC) except the ICC colour profile; optional fit-inside resize
 * that never enlarges. JPEG output flattens alpha on white. PNG output is palette-quantised at
 * the requested quality, or lossless when that is smaller. Animated GIF/WebP stay animated
 * when the output format can animate; otherwise only the first frame is decoded.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { ImageFormat } from '@imgpipe/schemas';
import { failed, ok, type Result } from '../../domain/failure';
import type { Compressed, CompressRequest, ImageCompressor } from '../../domain/ports';

export interface SharpCompressorOptions {
  /** Largest accepted input, in pixels (all frames of an animation together). */
  maxPixels: number;
  /** CPU budget per image (libvips counts whole seconds; rounded up). */
  timeoutMs: number;
}

/**
 * Sizes libvips for N images in flight: `threadsPerImage` worker threads each, so that images
 * in flight × threads ≈ cores. The operation cache is off: every input is new, so it only
 * holds memory. Call once per process, before compressing.
 */
export function configureSharp(threadsPerImage: number): void {
  sharp.concurrency(Math.max(1, Math.floor(threadsPerImage)));
  sharp.cache(false);
}

const ANIMATABLE = new Set<ImageFormat>(['gif', 'webp']);

/** Creates the sharp-backed compressor. */
export function createSharpCompressor(options: SharpCompressorOptions): ImageCompressor {
  const timeoutSeconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  const megapixels = (px: number) => `${Math.round(px / 1e5) / 10} MP`;

  return {
    async compress(req: CompressRequest): Promise<Result<Compressed>> {
      const { quality, maxDimension } = req.options;
      if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
        return failed('INTERNAL', `Invalid quality ${quality} (expected 1–100)`);
      }
      if (maxDimension !== null && (!Number.isInteger(maxDimension) || maxDimension < 1)) {
        return failed('INTERNAL', `Invalid max dimension ${maxDimension}`);
      }

      let meta: Metadata;
      try {
        meta = await sharp(req.bytes, { failOn: 'error', limitInputPixels: false }).metadata();
      } catch (err) {
        return classify(err, req.format);
      }
      const pages = meta.pages ?? 1;
      const outFormat: ImageFormat =
        req.options.format === 'keep' ? req.format : req.options.format;
      const animated = pages > 1 && ANIMATABLE.has(req.format) && ANIMATABLE.has(outFormat);
      const framePixels = (meta.width ?? 0) * (meta.height ?? 0);
      const pixels = framePixels * (animated ? pages : 1);
      if (pixels > options.maxPixels) {
        return failed(
          'TOO_MANY_PIXELS',
          `Image is ${meta.width}×${meta.height}${animated ? ` × ${pages} frames` : ''} (${megapixels(pixels)}); the limit is ${megapixels(options.maxPixels)}`,
        );
      }

      let pipeline = sharp(req.bytes, {
        failOn: 'error',
        limitInputPixels: options.maxPixels,
        animated,
      })
        .timeout({ seconds: timeoutSeconds })
        .autoOrient();
      if (maxDimension !== null) {
        pipeline = pipeline.resize({
          width: maxDimension,
          height: maxDimension,
          fit: 'inside',
          withoutEnlargement: true,
        });
      }
      // Keep the colour profile, except CMYK ones: the output formats here are RGB, so CMYK
      // input is converted to sRGB through its embedded profile (sharp's default) instead.
      if (meta.icc !== undefined && meta.space !== 'cmyk') pipeline = pipeline.keepIccProfile();
      if (outFormat === 'jpeg' && meta.hasAlpha)
        pipeline = pipeline.flatten({ background: '#ffffff' });

      try {
        const encoded = await encode(pipeline, outFormat, quality, meta);
        const { data, info } = encoded;
        return ok({
          output: {
            bytes: data,
            format: outFormat,
            width: info.width,
            // Animated output reports the whole strip; users care about one frame.
            height: info.pageHeight ?? info.height,
          },
          input: {
            width: meta.autoOrient?.width ?? meta.width ?? 0,
            height: meta.autoOrient?.height ?? meta.height ?? 0,
          },
        });
      } catch (err) {
        return classify(err, req.format);
      }
    },
  };
}

type Encoded = { data: Buffer; info: sharp.OutputInfo & { pageHeight?: number } };

async function encode(
  pipeline: Sharp,
  format: ImageFormat,
  quality: number,
  meta: Metadata,
): Promise<Encoded> {
  const run = (p: Sharp) => p.toBuffer({ resolveWithObject: true }) as Promise<Encoded>;
  switch (format) {
    case 'jpeg':
      return run(pipeline.jpeg({ quality }));
    case 'webp':
      return run(pipeline.webp({ quality, effort: 4 }));
    case 'avif':
      return run(pipeline.avif({ quality, effort: 4 }));
    case 'gif':
      // Lossier inter-frame reuse as quality drops: 0 at q100, ~8 at q50.
      return run(pipeline.gif({ effort: 7, interFrameMaxError: Math.round((100 - quality) / 6) }));
    case 'tiff':
      return run(
        pipeline.tiff(
          meta.hasAlpha
            ? { compression: 'deflate', predictor: 'horizontal' }
            : { compression: 'jpeg', quality },
        ),
      );
    case 'png': {
      // Palette quantisation at the requested quality, or lossless when that is smaller (flat
      // graphics and tiny images often are). The lossless candidate uses zlib level 6: on
      // photographs level 9 costs ~7× the time for ~8 % (bench/processor-throughput.ts), and
      // photographs are exactly where the palette candidate wins anyway.
      const [palette, lossless] = await Promise.all([
        run(pipeline.clone().png({ palette: true, quality, effort: 4, compressionLevel: 9 })),
        run(pipeline.clone().png({ compressionLevel: 6, adaptiveFiltering: true })),
      ]);
      return palette.data.length <= lossless.data.length ? palette : lossless;
    }
  }
}

/** sharp/libvips errors → failure codes. libvips has no error codes, only messages. */
function classify(err: unknown, format: ImageFormat): Result<Compressed> {
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return failed('TOO_MANY_PIXELS', message);
  if (/timeout/i.test(message)) {
    return failed('TIMEOUT', 'Compression took longer than the per-image limit', {
      transient: true,
    });
  }
  if (/unsupported image format/i.test(message)) {
    return failed('UNSUPPORTED_FORMAT', `The file looks like ${format} but cannot be read`);
  }
  return failed('CORRUPT_IMAGE', `The ${format} image is damaged: ${firstLine(message)}`);
}

const firstLine = (s: string) => s.split('\n')[0]!.slice(0, 200);
