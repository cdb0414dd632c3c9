/**
 * Public URLs and object keys (brief "System-wide decisions"). Users never need S3
 * credentials: image URLs point at imgpipe's own download route unless a public base URL
 * (CDN or public bucket) is configured.
 */
export interface PublicUrls {
  /** The one URL users use (ingest's edge), e.g. http://127.0.0.1:8080. */
  publicBaseUrl: string;
  /** Optional CDN/bucket base: image URLs become `${base}/${outputKey}`. */
  outputPublicBaseUrl: string | null;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

export const outputCsvKeyFor = (requestId: string): string => `results/${requestId}.csv`;

export const outputCsvUrlFor = (urls: PublicUrls, requestId: string): string =>
  `${trimSlash(urls.publicBaseUrl)}/requests/${requestId}/output.csv`;

export const statusUrlFor = (urls: PublicUrls, requestId: string): string =>
  `${trimSlash(urls.publicBaseUrl)}/status/${requestId}`;

/** Download URL of a compressed image; positions are 0-based here and 1-based in the URL. */
export function imageUrlFor(
  urls: PublicUrls,
  requestId: string,
  productIndex: number,
  imageIndex: number,
  outputKey: string,
): string {
  if (urls.outputPublicBaseUrl) {
    const key = outputKey.split('/').map(encodeURIComponent).join('/');
    return `${trimSlash(urls.outputPublicBaseUrl)}/${key}`;
  }
  return `${trimSlash(urls.publicBaseUrl)}/images/${requestId}/${productIndex + 1}/${imageIndex + 1}`;
}
