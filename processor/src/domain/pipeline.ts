import type { ImageFormat, ImageRequested } from '@imgpipe/schemas';
import { failed, ok, type Result } from './failure';
import { contentTypeOf, outputKeyFor, outputUrlFor, type UrlSettings } from './output';
import type { Clock, ImageCompressor, ImageFetcher, ObjectStore, PipelineObserver } from './ports';
import { sniffImageFormat } from './signature';

/** What one successful try produced: the stored object and the figures ImageCompressed carries. */
export interface StoredImage {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly width: number;
  readonly height: number;
  readonly format: ImageFormat;
  readonly keptOriginal: boolean;
  readonly outputKey: string;
  readonly outputUrl: string;
  readonly downloadMs: number;
  readonly compressMs: number;
  readonly uploadMs: number;
}

export interface PipelineDeps {
  fetcher: ImageFetcher;
  compressor: ImageCompressor;
  store: ObjectStore;
  observer: PipelineObserver;
  clock: Clock;
  urls: UrlSettings;
}

export interface TryContext {
  /** Tells the group this member is alive; called between stages. */
  heartbeat(): Promise<void>;
  /** Aborts when the consumer stops: the try is abandoned (it throws) and not committed. */
  signal: AbortSignal;
}

export interface ImagePipeline {
  /**
   * One try at one image: download → sniff → compress → store. Expected failures come back as
   * a failed Result (permanent or transient); it throws only when `signal` aborts.
   */
  runOnce(request: ImageRequested, ctx: TryContext): Promise<Result<StoredImage>>;
}

/** Creates the per-image pipeline (download, signature check, compression, storage). */
export function createImagePipeline(deps: PipelineDeps): ImagePipeline {
  const { fetcher, compressor, store, observer, clock } = deps;

  const timed = async <T>(stage: 'download' | 'compress' | 'upload', run: () => Promise<T>) => {
    const t0 = clock.monotonic();
    try {
      return { value: await run(), ms: clock.monotonic() - t0 };
    } finally {
      observer.stage(stage, (clock.monotonic() - t0) / 1000);
    }
  };

  return {
    async runOnce(request, ctx) {
      const abandonIfStopping = () => ctx.signal.throwIfAborted();

      const download = await timed('download', () => fetcher.fetch(request.inputUrl, ctx.signal));
      abandonIfStopping();
      if (!download.value.ok) return download.value;
      const input = download.value.value.bytes;
      await ctx.heartbeat();

      const format = sniffImageFormat(input);
      if (format === null) {
        return failed(
          'UNSUPPORTED_FORMAT',
          `The downloaded file is not a JPEG, PNG, WebP, GIF, AVIF or TIFF image (${describeContent(input)})`,
          { httpStatus: download.value.value.httpStatus },
        );
      }

      const compression = await timed('compress', () =>
        compressor.compress({ bytes: input, format, options: request.options }),
      );
      abandonIfStopping();
      if (!compression.value.ok) return compression.value;
      const { output, input: inputSize } = compression.value.value;
      await ctx.heartbeat();

      // Never hand back a file larger than what the user gave us (issue 5, step 2).
      const keptOriginal = output.bytes.length >= input.length;
      const stored = keptOriginal
        ? { bytes: input, format, width: inputSize.width, height: inputSize.height }
        : output;
      const outputKey = outputKeyFor(request, stored.format);
      let upload;
      try {
        upload = await timed('upload', () =>
          store.put(outputKey, stored.bytes, contentTypeOf(stored.format), ctx.signal),
        );
      } catch (err) {
        abandonIfStopping();
        return failed('INTERNAL', `Could not store the output image: ${messageOf(err)}`, {
          transient: true,
        });
      }
      abandonIfStopping();
      observer.bytes(input.length, stored.bytes.length);

      return ok({
        bytesIn: input.length,
        bytesOut: stored.bytes.length,
        width: stored.width,
        height: stored.height,
        format: stored.format,
        keptOriginal,
        outputKey,
        outputUrl: outputUrlFor(request, outputKey, deps.urls),
        downloadMs: Math.round(download.ms),
        compressMs: Math.round(compression.ms),
        uploadMs: Math.round(upload.ms),
      });
    },
  };
}

/** A hint for the failure message: what the bytes look like instead (no user content echoed). */
function describeContent(bytes: Buffer): string {
  if (bytes.length === 0) return 'the body is empty';
  const head = bytes.subarray(0, 512).toString('latin1').trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg')))
    return 'it is an SVG document';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'it is an HTML page';
  if (head.startsWith('<')) return 'it is an XML/HTML document';
  if (head.startsWith('%pdf')) return 'it is a PDF document';
  return `unrecognised signature ${bytes.subarray(0, 4).toString('hex')}`;
}

const messageOf = (err: unknown): string =>
  err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
