/**
 * The web page at / (issue #9) in a real browser against the whole system: Debian's Chromium
 * driven by playwright-core, the four services as processes, images from a real origin.
 * A user uploads a broken CSV and sees its problems by line, uploads a good one by drag and
 * drop and watches it complete without reloading, downloads the output CSV, finds the
 * request again by id, and does it all from the keyboard.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '../support/env';
import { launchChromium, type PageElement, type PageGlobals } from './support/browser';
import { allImages, status, upload, type StatusBody } from './support/client';
import {
  startImageOrigin,
  startWebhookReceiver,
  type ImageOrigin,
  type WebhookReceiver,
} from './support/servers';
import { artifactsDir, startStack, type Stack } from './support/stack';

/** Small enough that a few hundred rows exceed it: the 413 path without a 20 MiB file. */
const MAX_UPLOAD_BYTES = 64 * 1024;
/** Waits on the live view: the whole pipeline on a shared 2-core machine. */
const DONE_TIMEOUT_MS = 150_000;

let stack: Stack;
let origin: ImageOrigin;
let receiver: WebhookReceiver;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // Chromium first: without it the test fails at once with the install hint.
  browser = await launchChromium();
  [stack, origin, receiver] = await Promise.all([
    startStack({
      env: {
        UPLOAD_MAX_BYTES: String(MAX_UPLOAD_BYTES),
        // Every partition in flight at once and no download timeout while the origin is held:
        // an image first in its partition finishes while the held ones wait (see below).
        PROCESSOR_CONCURRENCY: '8',
        FETCH_TIMEOUT_MS: '120000',
      },
    }),
    startImageOrigin(),
    startWebhookReceiver(),
  ]);
  mkdirSync(artifactsDir, { recursive: true });
}, 240_000);

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await browser?.close();
  await Promise.all([stack?.stop(), origin?.close(), receiver?.close()]);
});

/**
 * Uncaught script errors and CSP violations per page: either would leave a page that looks
 * fine and does nothing.
 */
const scriptErrors = new WeakMap<Page, string[]>();

interface OpenOptions {
  /** Lets the test inject axe-core; the page's own CSP allows no foreign script. */
  bypassCSP?: boolean;
  /** Runs in the page before any of its own scripts (e.g. to observe layout shifts). */
  initScript?: string;
}

/** A fresh browser profile (no shared history or cache) on the page. */
async function openPage(
  query = '',
  viewport = { width: 1280, height: 900 },
  options: OpenOptions = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    acceptDownloads: true,
    bypassCSP: options.bypassCSP ?? false,
  });
  contexts.push(context);
  const page = await context.newPage();
  if (options.initScript) await page.addInitScript({ content: options.initScript });
  const errors: string[] = [];
  scriptErrors.set(page, errors);
  page.on('pageerror', (err) => errors.push(err.message));
  // The page runs under a strict Content-Security-Policy: anything it blocks is a bug too.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
      errors.push(msg.text());
    }
  });
  await page.goto(`${stack.baseUrl}/${query}`);
  return page;
}

async function closePage(page: Page): Promise<void> {
  expect(scriptErrors.get(page)).toEqual([]);
  await page.context().close();
}

/** The slice of axe-core's page API the audit uses (axe.min.js is injected into the page). */
interface AxeGlobal {
  run(
    context: unknown,
    options: { runOnly: { type: 'tag'; values: string[] } },
  ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
}

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').trim();

/** The id of the focused element. */
const activeId = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id ?? '');

/** Chooses a CSV with the file picker. */
const pickCsv = (page: Page, name: string, csv: string) =>
  page.setInputFiles('#file', { name, mimeType: 'text/csv', buffer: Buffer.from(csv) });

const quoted = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
const csvFrom = (rows: { sn: string; name: string; urls: string[] }[]) =>
  [
    'S. No.,Product Name,Input Image Urls',
    ...rows.map((r) => [r.sn, quoted(r.name), quoted(r.urls.join(', '))].join(',')),
  ].join('\n') + '\n';

/** The rows of the page's problem table as header → cell text. */
async function problemRows(page: Page): Promise<Record<string, string>[]> {
  const table = page.locator('#rejection-details table');
  const headers = (await table.locator('thead th').allTextContents()).map((h) => h.trim());
  const rows: Record<string, string>[] = [];
  for (const row of await table.locator('tbody tr').all()) {
    const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
    rows.push(Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? ''])));
  }
  return rows;
}

/** What the products table shows, image by image. */
async function productTable(page: Page) {
  return page.locator('#products-body tr:not(.empty-row)').evaluateAll((rows) =>
    rows.map((row) => {
      const r = row as unknown as PageElement;
      const cells = Array.from(r.querySelectorAll('td'));
      return {
        serial: cells[0]?.textContent?.trim(),
        name: cells[1]?.textContent?.trim(),
        images: Array.from(r.querySelectorAll('li.image')).map((li) => ({
          position: Number(li.dataset.position),
          status: li.dataset.status,
          // The links, not the images: a thumbnail that cannot load keeps its link.
          input: li.querySelector('.thumbs > a')?.getAttribute('href') ?? null,
          output: li.querySelector('.out a')?.getAttribute('href') ?? null,
          failureCode: li.querySelector('.failure code')?.textContent ?? null,
          failure: li.querySelector('.failure')?.textContent?.trim() ?? null,
        })),
      };
    }),
  );
}

async function waitForStatus(page: Page, wanted: string, timeout = DONE_TIMEOUT_MS) {
  await page.locator(`#status-badge[data-status="${wanted}"]`).waitFor({ timeout });
}

describe('the web page', () => {
  it('lists the problems of an invalid CSV by line (file picker)', async () => {
    const page = await openPage();
    const n = origin.names;
    const csv = csvFrom([
      { sn: '1', name: 'Runner Sneaker', urls: [origin.url(n[0]!)] },
      { sn: '2', name: 'Mug', urls: ['ftp://images.example.com/mug.jpg'] },
      { sn: '1', name: 'Cap', urls: [origin.url(n[1]!)] },
      { sn: 'x', name: '', urls: [origin.url(n[2]!)] },
    ]);
    await pickCsv(page, 'broken.csv', csv);
    expect(await text(page, '#file-status')).toBe(`broken.csv (${csv.length} B)`);
    await page.click('#upload-submit');
    await page.locator('#rejection').waitFor();

    // What the API answers for the same file, as a script would see it.
    const api = await upload(stack.baseUrl, csv);
    expect(api.status).toBe(422);
    const error = (
      api.body as unknown as {
        error: { code: string; details: { line: number; problem: string }[] };
      }
    ).error;
    expect(await text(page, '#rejection-code')).toBe(error.code);
    expect(await text(page, '#rejection-code')).toBe('ERR_CSV_INVALID');

    const rows = await problemRows(page);
    expect(rows.map((r) => [r.Line, r.Problem])).toEqual(
      error.details.map((d) => [String(d.line), d.problem]),
    );
    // Lines 3 (ftp URL), 4 (serial 1 again) and 5 (bad serial, no name) of the file.
    expect([...new Set(rows.map((r) => r.Line))]).toEqual(['3', '4', '5']);
    expect(rows.find((r) => r.Line === '3')!.Value).toBe('ftp://images.example.com/mug.jpg');
    // Focus moves to the rejection, so a screen reader reads it at once.
    expect(await activeId(page)).toBe('rejection-heading');
    await closePage(page);
  });

  it('puts form-field problems next to their inputs, checking what it can before uploading', async () => {
    const page = await openPage();
    let uploads = 0;
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/upload') uploads += 1;
    });
    const csv = csvFrom([{ sn: '1', name: 'Lamp', urls: [origin.url(origin.names[0]!)] }]);
    await pickCsv(page, 'ok.csv', csv);

    // Caught in the browser: no round trip.
    await page.fill('#quality', '0');
    await page.click('#upload-submit');
    await page.locator('#quality-error').waitFor();
    expect(await page.getAttribute('#quality', 'aria-invalid')).toBe('true');
    expect(uploads).toBe(0);

    // Only the API knows: a well-formed URL with a scheme it refuses.
    await page.fill('#quality', '80');
    await page.fill('#webhook_url', 'ftp://hooks.example.com/imgpipe');
    await page.click('#upload-submit');
    await page.locator('#rejection').waitFor();
    expect(uploads).toBe(1);
    expect(await text(page, '#rejection-code')).toBe('ERR_FIELD_INVALID');
    expect(await page.getAttribute('#webhook_url', 'aria-invalid')).toBe('true');
    expect(await page.locator('#quality-error').isHidden()).toBe(true);
    expect(await text(page, '#webhook_url-error')).toMatch(/scheme "ftp" is not allowed/);
    // The summary links to the input.
    await page.click('#rejection-details a[href="#webhook_url"]');
    expect(await activeId(page)).toBe('webhook_url');
    await closePage(page);
  });

  it('says when the file is too large (413)', async () => {
    const page = await openPage();
    const url = origin.url(origin.names[0]!);
    const rows = Array.from({ length: Math.ceil(MAX_UPLOAD_BYTES / url.length) + 10 }, (_, i) => ({
      sn: String(i + 1),
      name: `Product ${i + 1}`,
      urls: [url],
    }));
    const csv = csvFrom(rows);
    expect(csv.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
    await pickCsv(page, 'big.csv', csv);
    await page.click('#upload-submit');
    await page.locator('#rejection').waitFor();
    expect(await text(page, '#rejection-code')).toBe('ERR_FILE_TOO_LARGE');
    expect(await text(page, '#rejection-message')).toContain(String(MAX_UPLOAD_BYTES));
    expect(await text(page, '#rejection-advice')).toMatch(/split the file/i);
    await closePage(page);
  });

  let requestId: string | undefined;
  let finalTable: Awaited<ReturnType<typeof productTable>> | undefined;

  it('uploads a dropped CSV and follows it live to COMPLETED_WITH_ERRORS, then downloads the result', async () => {
    const page = await openPage();
    const n = origin.names;
    // 10.0.0.1 is refused by the processor's address guard at once, while the origin is held:
    // one image is final while the others wait, so the page must show partial progress. It is
    // the first image published, so no held image is ahead of it in its partition.
    const blocked = 'http://10.0.0.1/blocked.jpg';
    const missing = `${origin.base}/img/missing.jpg`;
    const rows = [
      { sn: '1', name: 'Desk Lamp', urls: [blocked, origin.url(n[3]!)] },
      { sn: '2', name: 'Runner Sneaker', urls: [origin.url(n[0]!), origin.url(n[1]!)] },
      // Markup in a product name must show as text, never become elements.
      { sn: '3', name: 'Trail <b>Backpack</b> & "Co"', urls: [origin.url(n[2]!), missing] },
    ];
    const total = 6;
    const csv = csvFrom(rows);

    // Records every state the live view shows, and proves later that the page never reloaded.
    await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const record = { loadedOnce: true as const, seen: [] as string[] };
      g.imgpipeTest = record;
      const badge = g.document.getElementById('status-badge')!;
      const progress = g.document.getElementById('progress-text')!;
      const note = () => {
        const entry = `${badge.dataset.status}|${progress.textContent}`;
        if (record.seen[record.seen.length - 1] !== entry) record.seen.push(entry);
      };
      const options = { attributes: true, childList: true, characterData: true, subtree: true };
      new g.MutationObserver(note).observe(badge, options);
      new g.MutationObserver(note).observe(progress, options);
    });

    // A real drop: dragenter, dragover and drop carrying a file in a DataTransfer.
    const dataTransfer = await page.evaluateHandle((content) => {
      const g = globalThis as unknown as PageGlobals;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File([content], 'products.csv', { type: 'text/csv' }));
      return dt;
    }, csv);
    for (const type of ['dragenter', 'dragover', 'drop']) {
      await page.dispatchEvent('#dropzone', type, { dataTransfer });
    }
    expect(await text(page, '#file-status')).toBe(`products.csv (${csv.length} B)`);
    await page.fill('#quality', '70');
    await page.selectOption('#format', 'webp');
    await page.fill('#webhook_url', receiver.url);

    origin.hold();
    await page.click('#upload-submit');
    await page.locator('#request').waitFor();
    const id = await text(page, '#request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    requestId = id;
    expect(new URL(page.url()).searchParams.get('request')).toBe(id);
    expect(await text(page, '#accepted-note')).toContain('3 products, 6 images');
    const secret = await page.inputValue('#secret');
    expect(secret).toMatch(/^whsec_/);

    // Partial progress, deterministically: the blocked image failed, five are held.
    await page.locator('#count-failed', { hasText: /^1$/ }).waitFor({ timeout: DONE_TIMEOUT_MS });
    await waitForStatus(page, 'PROCESSING');
    expect(await text(page, '#count-compressed')).toBe('0');
    expect(await text(page, '#count-pending')).toBe(String(total - 1));
    expect(await text(page, '#progress-text')).toBe(`16.6 % · 1 of ${total}`);
    expect(await page.$eval('#progress', (el) => (el as unknown as { value: number }).value)).toBe(
      16.6,
    );
    // The download waits for the end: no link yet.
    expect(await page.getAttribute('#download', 'href')).toBeNull();
    expect(await page.getAttribute('#download', 'aria-disabled')).toBe('true');
    // The table fills in while processing: the failed image and its reason are there already.
    const early = page.locator('#products-body li.image[data-status="FAILED"]');
    await early.waitFor({ timeout: 30_000 });
    expect(await early.textContent()).toContain('BLOCKED_ADDRESS');
    await page.screenshot({
      path: path.join(artifactsDir, 'web-page-processing.png'),
      fullPage: true,
    });

    origin.release();
    await waitForStatus(page, 'COMPLETED_WITH_ERRORS');
    await page.locator('#download[href]').waitFor();
    const final = await status(stack.baseUrl, id);
    expect(final.status).toBe('COMPLETED_WITH_ERRORS');
    expect(final.progress).toMatchObject({
      total,
      compressed: 4,
      failed: 2,
      pending: 0,
      percent: 100,
    });
    // The options chosen in the form come back with the request, in the API and on the page.
    expect(final.options).toEqual({ quality: 70, format: 'webp', max_dimension: null });
    expect(await text(page, '#request-meta')).toContain('quality 70, format webp');
    expect(await text(page, '#count-compressed')).toBe('4');
    expect(await text(page, '#count-failed')).toBe('2');
    expect(await text(page, '#count-pending')).toBe('0');
    expect(await text(page, '#progress-text')).toBe(`100 % · ${total} of ${total}`);
    const saved = final.bytes_in - final.bytes_out;
    expect(saved).toBeGreaterThan(0);
    expect(await text(page, '#bytes-saved-percent')).toContain(
      String(Math.round((saved / final.bytes_in) * 1000) / 10),
    );

    // Live, not reloaded: the same document went from queued to done.
    const record = await page.evaluate(() => (globalThis as unknown as PageGlobals).imgpipeTest);
    expect(record?.loadedOnce).toBe(true);
    const statuses = [...new Set(record!.seen.map((s) => s.split('|')[0]))];
    expect(statuses).toEqual(['PENDING', 'PROCESSING', 'COMPLETED_WITH_ERRORS']);
    const percents = record!.seen.map((s) => Number.parseFloat(s.split('|')[1]!));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    // The table: every product and image, as the API reports them, thumbnails loaded.
    await waitFor(
      async () => {
        const table = await productTable(page);
        const images = table.flatMap((p) => p.images);
        return images.length === total &&
          images.every((i) => i.status === 'COMPRESSED' || i.status === 'FAILED')
          ? true
          : undefined;
      },
      { what: 'every image in the table', timeoutMs: 30_000 },
    );
    const table = await productTable(page);
    const api = await allImages(stack.baseUrl, id);
    const withoutTexts = table.map((p) => ({
      ...p,
      images: p.images.map(({ failure: _failure, ...image }) => image),
    }));
    expect(withoutTexts).toEqual(
      api.map((p) => ({
        serial: p.serial_number,
        name: p.product_name,
        images: p.images.map((im) => ({
          position: im.position,
          status: im.status,
          input: im.input_url,
          output: im.output_url,
          failureCode: im.failure_code,
        })),
      })),
    );
    expect(table.map((p) => p.name)).toEqual(rows.map((r) => r.name));
    expect(await page.locator('#products-body b').count()).toBe(0);
    expect(
      api
        .flatMap((p) => p.images)
        .filter((im) => im.status === 'COMPRESSED')
        .map((im) => im.format),
    ).toEqual(Array(4).fill('webp'));
    const failures = table.flatMap((p) => p.images).filter((im) => im.status === 'FAILED');
    expect(failures.map((f) => f.failure)).toEqual([
      expect.stringMatching(/BLOCKED_ADDRESS.*private or internal network address/s),
      expect.stringMatching(/HTTP_NOT_FOUND.*no image at that address.*404/s),
    ]);
    // Fixed-size thumbnails (no layout shift when they load), lazily loaded, with alt text;
    // every compressed one really loaded in the browser.
    const thumbs = await page
      .locator('#products-body .thumbs img, #products-body .thumb')
      .evaluateAll((els) =>
        els.map((el) => {
          const e = el as unknown as PageElement;
          const box = e.getBoundingClientRect();
          return {
            size: `${box.width}x${box.height}`,
            // Placeholders (no output, broken link) are spans: nothing to load.
            lazy: e.getAttribute('src') === null || e.getAttribute('loading') === 'lazy',
            alt: e.getAttribute('alt') ?? e.textContent,
          };
        }),
      );
    expect(new Set(thumbs.map((t) => t.size))).toEqual(new Set(['96x96']));
    expect(thumbs.every((t) => t.lazy && (t.alt ?? '').length > 0)).toBe(true);
    const outputs = page.locator('#products-body img[alt^="Compressed image"]');
    expect(await outputs.count()).toBe(4);
    for (const img of await outputs.all()) {
      await img.scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (el) => {
          const i = el as unknown as { complete: boolean; naturalWidth: number };
          return i.complete && i.naturalWidth > 0;
        },
        await img.elementHandle(),
        { timeout: 30_000 },
      );
    }

    // The download button gives exactly the API's output CSV, output URLs filled.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`imgpipe-${id}.csv`);
    const downloaded = readFileSync(await download.path());
    const fromApi = Buffer.from(
      await (await fetch(`${stack.baseUrl}/requests/${id}/output.csv`)).arrayBuffer(),
    );
    expect(downloaded.equals(fromApi)).toBe(true);
    const csvRows: string[][] = parse(downloaded, { bom: true });
    expect(csvRows[0]).toEqual(['S. No.', 'Product Name', 'Input Image Urls', 'Output Image Urls']);
    expect(csvRows.slice(1).map((r) => r[3]!.split(','))).toEqual(
      api.map((p) => p.images.map((im) => im.output_url ?? '')),
    );
    expect(
      csvRows
        .slice(1)
        .flatMap((r) => r[3]!.split(','))
        .filter(Boolean),
    ).toHaveLength(4);

    // The secret shown once on the page verifies the webhook that arrived.
    const delivery = await waitFor(() => receiver.deliveries[0], {
      what: 'the webhook delivery',
      timeoutMs: 30_000,
    });
    const payload = new Webhook(secret).verify(delivery.body, delivery.headers) as {
      data: { request_id: string };
    };
    expect(payload.data.request_id).toBe(id);

    finalTable = table;
    await page.screenshot({ path: path.join(artifactsDir, 'web-page.png'), fullPage: true });
    await closePage(page);
  }, 300_000);

  it('shows the same final view for a request looked up by id, also after a reload', async () => {
    expect(requestId).toBeDefined();
    const id = requestId!;
    // Two images per page: the table must follow the cursor and join a product split by it.
    const page = await openPage('?page_size=2');
    await page.fill('#lookup-id', id);
    await page.press('#lookup-id', 'Enter');
    await waitForStatus(page, 'COMPLETED_WITH_ERRORS', 30_000);
    const url = new URL(page.url());
    expect(url.searchParams.get('request')).toBe(id);
    await page.locator('#download[href]').waitFor();
    const expected: StatusBody = await status(stack.baseUrl, id);
    expect(await text(page, '#count-compressed')).toBe(String(expected.progress.compressed));
    expect(await text(page, '#count-failed')).toBe(String(expected.progress.failed));
    // Shown once, at upload: a lookup never shows a secret.
    expect(await page.locator('#secret-box').isHidden()).toBe(true);
    await waitFor(
      async () =>
        (await productTable(page)).flatMap((p) => p.images).length === 6 ? true : undefined,
      {
        what: 'the whole table',
      },
    );
    expect(await productTable(page)).toEqual(finalTable);

    await page.reload();
    await waitForStatus(page, 'COMPLETED_WITH_ERRORS', 30_000);
    await waitFor(
      async () =>
        (await productTable(page)).flatMap((p) => p.images).length === 6 ? true : undefined,
      {
        what: 'the table after a reload',
      },
    );
    expect(await productTable(page)).toEqual(finalTable);

    // A big request's table stops after a few pages (four) and grows on demand; opened
    // straight from its address this time.
    const paged = await openPage(`?request=${id}&page_size=1`);
    await waitForStatus(paged, 'COMPLETED_WITH_ERRORS', 30_000);
    await paged.locator('#more-row').waitFor();
    expect(await text(paged, '#products-note')).toBe('Showing the first 4 of 6 images.');
    expect((await productTable(paged)).flatMap((p) => p.images)).toHaveLength(4);
    await paged.click('#load-more');
    await paged.locator('#more-row').waitFor({ state: 'hidden' });
    expect(await productTable(paged)).toEqual(finalTable);
    await closePage(paged);

    // A narrow phone screen: no sideways scrolling of the page.
    await page.setViewportSize({ width: 375, height: 800 });
    expect(
      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return g.document.documentElement.scrollWidth <= g.innerWidth;
      }),
    ).toBe(true);
    await page.screenshot({ path: path.join(artifactsDir, 'web-page-narrow.png'), fullPage: true });
    await closePage(page);
  });

  it("passes axe-core's WCAG 2.1 A and AA checks and does not shift its layout as it fills in", async () => {
    expect(requestId).toBeDefined();
    // Cumulative layout shift as Chromium measures it (the Web Vitals CLS), from the first
    // paint: shifts right after a user's input are excluded, as in CLS.
    const recordShifts = `
      globalThis.layoutShift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) globalThis.layoutShift += e.value;
      }).observe({ type: 'layout-shift', buffered: true });`;
    const page = await openPage(`?request=${requestId}`, undefined, {
      bypassCSP: true,
      initScript: recordShifts,
    });
    await waitForStatus(page, 'COMPLETED_WITH_ERRORS', 30_000);
    // Every thumbnail settled (loaded or failed): the moment a shift would have happened.
    await page.waitForFunction(() => {
      const g = globalThis as unknown as PageGlobals;
      const images = Array.from(g.document.querySelectorAll('#products-body img'));
      return images.length > 0 && images.every((img) => img.complete === true);
    });
    const shift = await page.evaluate(
      () => (globalThis as unknown as { layoutShift: number }).layoutShift,
    );
    // 0.1 is the Web Vitals limit for a "good" page; thumbnails have fixed boxes, so the
    // table must not push anything around while they load.
    expect(shift).toBeLessThan(0.1);

    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const audit = async () =>
      page.evaluate(async () => {
        const g = globalThis as unknown as { axe: AxeGlobal; document: unknown };
        const result = await g.axe.run(g.document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        });
        return result.violations.map(
          (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
      });
    // The request view with its table, failures and download button.
    expect(await audit()).toEqual([]);

    // The form with a rejection listed, as a user sees it after a bad upload.
    await page.goto(`${stack.baseUrl}/`);
    await pickCsv(page, 'broken.csv', csvFrom([{ sn: 'x', name: '', urls: ['ftp://a/b.jpg'] }]));
    await page.click('#upload-submit');
    await page.locator('#rejection').waitFor();
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    expect(await audit()).toEqual([]);
    await closePage(page);
  });

  it('says so when the id is unknown or malformed', async () => {
    const page = await openPage();
    const unknown = '0b7e4c8e-5a2d-4f1b-9c3e-2d6a8f1e4b70';
    await page.fill('#lookup-id', unknown);
    await page.click('#lookup-submit');
    await page.locator('#lookup-id-error').waitFor();
    const res = await fetch(`${stack.baseUrl}/status/${unknown}`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(await text(page, '#lookup-id-error')).toContain(
      `${body.error.message} (${body.error.code})`,
    );
    expect(await page.locator('#request').isHidden()).toBe(true);

    await page.goto(`${stack.baseUrl}/?request=not-an-id`);
    await page.locator('#lookup-id-error').waitFor();
    expect(await text(page, '#lookup-id-error')).toContain('ERR_INVALID_REQUEST_ID');
    await closePage(page);
  });

  it('works from the keyboard alone: Tab to the file control, pick a file, Tab to submit', async () => {
    const page = await openPage();
    const tabTo = async (id: string) => {
      for (let i = 0; i < 20; i += 1) {
        await page.keyboard.press('Tab');
        if ((await activeId(page)) === id) return;
      }
      throw new Error(`Tab never reached #${id}`);
    };
    await tabTo('file');
    // The focus is visible: the drop zone around the file input draws the ring.
    const ring = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const style = g.getComputedStyle(g.document.getElementById('dropzone')!);
      return `${style.outlineStyle} ${style.outlineWidth}`;
    });
    expect(ring).toBe('solid 3px');
    const csv = 'S. No.,Product Name,Input Image Urls\n1,Mug,not-a-url\n';
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.keyboard.press('Space'),
    ]);
    await chooser.setFiles({
      name: 'keyboard.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    expect(await text(page, '#file-status')).toContain('keyboard.csv');
    await tabTo('upload-submit');
    await page.keyboard.press('Enter');
    await page.locator('#rejection').waitFor();
    expect(await activeId(page)).toBe('rejection-heading');
    expect((await problemRows(page)).map((r) => r.Line)).toEqual(['2']);
    await closePage(page);
  });
});
