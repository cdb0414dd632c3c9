/** Pieces the commands share: printing lines, resume hints, paging through images. */
import type { ApiResult, ImgpipeApi, ProductStatus, StatusBody } from '../api';
import { DEFAULT_BASE_URL } from '../args';
import type { TextSink } from '../deps';

export const printLines = (sink: TextSink, lines: readonly string[]): void => {
  if (lines.length > 0) sink.write(`${lines.join('\n')}\n`);
};

/** `imgpipe status <id>` (with --url unless it is the default), to copy into a shell. */
export const commandFor = (command: string, requestId: string, baseUrl: string): string =>
  `imgpipe ${command} ${requestId}${baseUrl === DEFAULT_BASE_URL ? '' : ` --url ${baseUrl}`}`;

/** The most images one status page may carry (aggregator MAX_IMAGES_LIMIT). */
export const IMAGES_PAGE_LIMIT = 1000;

/**
 * Every page of `?include=images`, following `next_cursor`; stops after a failed page (the
 * failure is the last item).
 */
export async function* imagePages(
  api: ImgpipeApi,
  requestId: string,
  signal: AbortSignal,
): AsyncGenerator<ApiResult<StatusBody>> {
  let cursor: string | undefined;
  do {
    const page = await api.status(
      requestId,
      { limit: IMAGES_PAGE_LIMIT, ...(cursor ? { cursor } : {}) },
      signal,
    );
    yield page;
    if (!page.ok) return;
    cursor = page.value.images_page?.next_cursor ?? undefined;
  } while (cursor);
}

/**
 * Adds one page's products to `into`: a product cut by the page boundary continues as the
 * first product of the next page, and is joined rather than listed twice.
 */
export function appendProducts(into: ProductStatus[], page: readonly ProductStatus[]): void {
  for (const product of page) {
    const last = into[into.length - 1];
    if (last && last.position === product.position) last.images.push(...product.images);
    else into.push({ ...product, images: [...product.images] });
  }
}
