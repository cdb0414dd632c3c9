/** `imgpipe status <id> [--json] [--images]`. */
import type { ProductStatus, StatusBody } from '../api';
import type { StatusInvocation } from '../args';
import type { CliDeps } from '../deps';
import { ExitCode, exitCodeForFailure } from '../exit-codes';
import { imageLine, productLine, statusSummaryLines } from '../format';
import { reportLines } from '../render-error';
import { appendProducts, commandFor, imagePages, printLines } from './common';

export async function statusCommand(inv: StatusInvocation, deps: CliDeps): Promise<number> {
  const api = deps.api(inv.baseUrl);
  const say = (...lines: string[]) => printLines(deps.stderr, lines);
  const fail = (failure: Parameters<typeof reportLines>[1]) => {
    say(...reportLines('status', failure, api.baseUrl));
    return exitCodeForFailure(failure);
  };

  if (!inv.images) {
    const result = await api.status(inv.requestId, undefined, deps.signal);
    if (!result.ok) return fail(result.failure);
    const s = result.value;
    if (inv.json) {
      deps.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return ExitCode.ok;
    }
    printLines(deps.stdout, statusSummaryLines(s));
    if (s.progress.failed > 0) {
      say(
        `${s.progress.failed} failed; see why: ${commandFor('status', s.request_id, api.baseUrl)} --images`,
      );
    }
    return ExitCode.ok;
  }

  // --images: every page. Human output streams page by page (a 100,000-image request is not
  // held in memory for it); --json merges the pages into one body of the API's own shape.
  let first: StatusBody | undefined;
  const products: ProductStatus[] = [];
  let lastPosition: number | undefined;
  for await (const page of imagePages(api, inv.requestId, deps.signal)) {
    if (!page.ok) return fail(page.failure);
    const body = page.value;
    if (!first) {
      first = body;
      if (!inv.json) printLines(deps.stdout, [...statusSummaryLines(body), '']);
    }
    if (inv.json) {
      appendProducts(products, body.products ?? []);
      first = { ...first, images_page: body.images_page ?? { limit: 0, next_cursor: null } };
      continue;
    }
    const lines: string[] = [];
    for (const product of body.products ?? []) {
      // A product cut by the page boundary keeps its heading from the previous page.
      if (product.position !== lastPosition) lines.push(productLine(product));
      lastPosition = product.position;
      lines.push(...product.images.map(imageLine));
    }
    printLines(deps.stdout, lines);
  }
  if (inv.json && first) deps.stdout.write(`${JSON.stringify({ ...first, products }, null, 2)}\n`);
  return ExitCode.ok;
}
