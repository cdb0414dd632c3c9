import type { ImageFormat } from '@imgpipe/schemas';

const EXTENSIONS: Record<ImageFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
  tiff: 'tiff',
};

const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

export const contentTypeOf = (format: ImageFormat): string => CONTENT_TYPES[format];

export interface ImagePosition {
  readonly requestId: string;
  /** 0-based, as events carry them. */
  readonly productIndex: number;
  readonly imageIndex: number;
}

/**
 * `outputs/{requestId}/{product}-{image}.{ext}` with 1-based positions: deterministic, so a
 * replay overwrites the same object instead of leaking a new one (brief, "Object keys").
 */
export function outputKeyFor(position: ImagePosition, format: ImageFormat): string {
  return `outputs/${position.requestId}/${position.productIndex + 1}-${position.imageIndex + 1}.${EXTENSIONS[format]}`;
}

export interface UrlSettings {
  /** The public edge (ingest), e.g. http://127.0.0.1:8080. */
  readonly publicBaseUrl: string;
  /** CDN/bucket base; when set, URLs point at the object itself. */
  readonly outputPublicBaseUrl?: string | null;
}

/**
 * The URL users get: imgpipe's own download route (`/images/{requestId}/{product}/{image}`,
 * 1-based) so they never need S3 credentials, unless a public CDN/bucket base is configured.
 */
export function outputUrlFor(
  position: ImagePosition,
  outputKey: string,
  urls: UrlSettings,
): string {
  const trim = (base: string) => base.replace(/\/+$/, '');
  if (urls.outputPublicBaseUrl) return `${trim(urls.outputPublicBaseUrl)}/${outputKey}`;
  return `${trim(urls.publicBaseUrl)}/images/${encodeURIComponent(position.requestId)}/${position.productIndex + 1}/${position.imageIndex + 1}`;
}
