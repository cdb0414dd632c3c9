/**
 * The live view of one request: status, progress, counts and bytes from GET status/{id}
 * (polled about every second until the request is final), the per-product table from
 * GET status/{id}?include=images (every page, refreshed while processing and once at the end),
 * and the output CSV download once done.
 */
import { getStatus } from './api.js';
import { h, byId, safeHttpUrl } from './dom.js';
import {
  FINAL_STATUSES,
  failureHelp,
  formatBytes,
  formatDuration,
  formatPercent,
  formatTime,
  plural,
  savings,
  statusLabel,
} from './format.js';

const POLL_MS = 1000;
/** A background tab needs no per-second updates; it catches up when shown again. */
const HIDDEN_POLL_MS = 5000;
/**
 * The table is re-read at most this often while processing, and only when the counts moved; a
 * table of many pages waits a second more per page (each page is a read of the read model).
 */
const TABLE_REFRESH_MS = 2000;
const TABLE_REFRESH_PER_PAGE_MS = 1000;
export const DEFAULT_PAGE_SIZE = 500;
/**
 * Pages loaded without asking (2000 images at the default page size); a huge request's table
 * grows by "Load more" instead of putting 100 000 rows in the page at once.
 */
const AUTO_LOAD_PAGES = 4;
const MAX_RETRY_SECONDS = 30;

const BASE_TITLE = document.title;

const isAbort = (err) => err?.name === 'AbortError';

/**
 * @param {object} options
 * @param {number} options.pageSize images per status page (the API allows 1–1000)
 * @param {(id: string, err: import('./api.js').ApiError | undefined, retryIn?: number) => void} options.onLoadProblem
 *   a looked-up request cannot be shown: unknown id (404), malformed id (400), or the status
 *   API unavailable (retryIn seconds); called with undefined once it loads.
 */
export function createRequestView({ pageSize, onLoadProblem }) {
  const el = Object.fromEntries(
    [
      'request',
      'request-heading',
      'request-id',
      'accepted-note',
      'secret-box',
      'secret',
      'secret-copy',
      'status-badge',
      'status-code',
      'poll-note',
      'progress',
      'progress-text',
      'count-compressed',
      'count-failed',
      'count-pending',
      'bytes-in',
      'bytes-out',
      'bytes-saved',
      'bytes-saved-percent',
      'request-meta',
      'failure-reason',
      'download',
      'download-hint',
      'announcer',
      'products',
      'products-heading',
      'products-body',
      'products-note',
      'only-failed',
      'more-row',
      'load-more',
    ].map((id) => [id, byId(id)]),
  );

  /** The request on screen; replaced (and its polling aborted) when another is shown. */
  let current;

  el['only-failed'].addEventListener('change', () => {
    el.products.classList.toggle('only-failed', el['only-failed'].checked);
  });
  el['load-more'].addEventListener('click', () => {
    const s = current;
    if (!s || !s.moreCursor) return;
    s.target += AUTO_LOAD_PAGES * pageSize;
    void (async () => {
      // A refresh in flight finishes first; then read on from where it stopped.
      await s.tableLoading?.catch(() => undefined);
      if (s !== current || !s.moreCursor) return;
      await loadTable(s, { from: s.moreCursor, loaded: s.loaded });
    })().catch((err) => {
      if (!isAbort(err)) {
        el['products-note'].textContent =
          `Could not load more images (${err.code ?? err.message}).`;
      }
    });
  });
  el['secret-copy'].addEventListener('click', () => void copySecret());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) current?.wake?.();
  });

  async function copySecret() {
    const button = el['secret-copy'];
    el.secret.select();
    try {
      // Only in secure contexts (https, localhost); elsewhere the selection is the fallback.
      await navigator.clipboard.writeText(el.secret.value);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Selected: copy it';
    }
    setTimeout(() => {
      button.textContent = 'Copy';
    }, 3000);
  }

  function sleep(s, ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        s.controller.signal.removeEventListener('abort', done);
        s.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      s.controller.signal.addEventListener('abort', done);
      s.wake = done;
    });
  }

  function announce(text) {
    // Cleared first so that the same sentence twice is still read out.
    el.announcer.textContent = '';
    setTimeout(() => {
      el.announcer.textContent = text;
    }, 50);
  }

  function reset(id) {
    el['request-id'].textContent = id;
    el['accepted-note'].hidden = true;
    el['secret-box'].hidden = true;
    el.secret.value = '';
    el['poll-note'].textContent = '';
    el['failure-reason'].hidden = true;
    el['request-meta'].replaceChildren();
    el['products-body'].replaceChildren(emptyRow('Loading…'));
    el['products-note'].textContent = '';
    el['more-row'].hidden = true;
    el['only-failed'].checked = false;
    el.products.classList.remove('only-failed');
    setDownload(undefined, id);
  }

  function emptyRow(text) {
    return h('tr', { className: 'empty-row' }, h('td', { colspan: 3, className: 'empty' }, text));
  }

  function setDownload(url, id) {
    const link = el.download;
    const href = safeHttpUrl(url);
    if (href) {
      link.href = href;
      link.setAttribute('download', `imgpipe-${id}.csv`);
      link.removeAttribute('aria-disabled');
      link.removeAttribute('role');
      el['download-hint'].textContent =
        'Your rows with an "Output Image Urls" column, in the same order.';
    } else {
      // No href: not focusable, not clickable; role + aria-disabled say "disabled link".
      link.removeAttribute('href');
      link.removeAttribute('download');
      link.setAttribute('role', 'link');
      link.setAttribute('aria-disabled', 'true');
      el['download-hint'].textContent = 'Available when every image is done.';
    }
  }

  function renderSummary(s, body) {
    const previous = s.last;
    s.last = body;
    const p = body.progress;
    const done = p.compressed + p.failed;

    el['status-badge'].dataset.status = body.status;
    el['status-badge'].textContent = statusLabel(body.status);
    el['status-code'].textContent = body.status;
    el.progress.value = p.percent;
    el['progress-text'].textContent = `${formatPercent(p.percent)} · ${done} of ${p.total}`;
    el['count-compressed'].textContent = String(p.compressed);
    el['count-failed'].textContent = String(p.failed);
    el['count-pending'].textContent = String(p.pending);
    el['bytes-in'].textContent = formatBytes(body.bytes_in);
    el['bytes-out'].textContent = formatBytes(body.bytes_out);
    const saved = savings(body.bytes_in, body.bytes_out);
    el['bytes-saved'].textContent = formatBytes(saved.bytes);
    el['bytes-saved-percent'].textContent = `${formatPercent(saved.percent)} of the input`;

    const meta = [];
    if (body.created_at) meta.push(['Created ', time(body.created_at)]);
    if (body.completed_at) {
      meta.push(['completed ', time(body.completed_at)]);
      if (body.created_at) {
        meta.push(
          `took ${formatDuration(Date.parse(body.completed_at) - Date.parse(body.created_at))}`,
        );
      }
    }
    if (body.webhook) meta.push(webhookText(body.webhook));
    if (body.options) meta.push(optionsText(body.options));
    el['request-meta'].replaceChildren(
      ...meta.flatMap((m, i) => (i === 0 ? [m] : [' · ', m])).flat(),
    );

    el['failure-reason'].hidden = !body.failure_reason;
    el['failure-reason'].textContent = body.failure_reason ?? '';
    setDownload(body.output_csv_url, s.id);
    document.title = FINAL_STATUSES.has(body.status)
      ? `${statusLabel(body.status)} · ${BASE_TITLE}`
      : `${formatPercent(p.percent)} ${statusLabel(body.status)} · ${BASE_TITLE}`;

    if (previous?.status !== body.status) announce(transitionText(body, previous === undefined));
  }

  const time = (iso) => h('time', { datetime: iso }, formatTime(iso));

  /** What the upload asked for, so a looked-up request says how it was compressed. */
  const optionsText = (o) =>
    `quality ${o.quality}, format ${o.format}` +
    (o.max_dimension === null ? '' : `, max ${o.max_dimension} px`);

  function webhookText(w) {
    const attempts = plural(w.attempts, 'attempt');
    if (w.state === 'PENDING' && w.attempts === 0) return 'webhook: not sent yet';
    const code = w.last_status_code === null ? '' : `, last answer HTTP ${w.last_status_code}`;
    return `webhook: ${w.state.toLowerCase()} after ${attempts}${code}`;
  }

  function transitionText(body, first) {
    const p = body.progress;
    switch (body.status) {
      case 'PENDING':
        return first
          ? `Request queued: ${plural(p.total, 'image')} to process.`
          : 'Request queued.';
      case 'PROCESSING':
        return first
          ? `Request processing: ${formatPercent(p.percent)} done.`
          : 'Processing started.';
      case 'COMPLETED':
        return `Completed: ${plural(p.compressed, 'image')} compressed. The output CSV is ready to download.`;
      case 'COMPLETED_WITH_ERRORS':
        return `Completed with errors: ${p.compressed} compressed, ${p.failed} failed. The output CSV is ready to download.`;
      case 'FAILED':
        return `Request failed: no image could be compressed.${body.failure_reason ? ` ${body.failure_reason}` : ''}`;
      default:
        return `Status: ${statusLabel(body.status)}.`;
    }
  }

  // ---- the products table ------------------------------------------------------------------

  /**
   * Puts `node` among its siblings in position order. Positions mostly arrive in order (an
   * append); a product whose images finish late goes before those that finished first.
   */
  function placeInOrder(ordered, position, node) {
    if (position > ordered.max) {
      ordered.parent.append(node);
      ordered.max = position;
      return;
    }
    let next = Infinity;
    for (const pos of ordered.entries.keys()) if (pos > position && pos < next) next = pos;
    ordered.parent.insertBefore(node, ordered.entries.get(next).node);
  }

  const orderedIn = (parent) => ({ parent, entries: new Map(), max: 0 });

  /** One row per product, kept in position order; image cells are updated in place. */
  function rowFor(s, product) {
    let row = s.rows.entries.get(product.position);
    if (row) return row;
    const list = h('ul', { className: 'images' });
    const tr = h(
      'tr',
      { dataset: { position: product.position } },
      h('td', {}, product.serial_number),
      h('td', {}, product.product_name),
      h('td', {}, list),
    );
    row = { node: tr, images: orderedIn(list), failed: new Set() };
    // The "nothing yet" row goes with the first real one.
    if (s.rows.entries.size === 0) el['products-body'].replaceChildren();
    placeInOrder(s.rows, product.position, tr);
    s.rows.entries.set(product.position, row);
    return row;
  }

  function thumb(url, alt) {
    const src = safeHttpUrl(url);
    if (!src) return h('span', { className: 'thumb' }, 'No preview');
    const img = h('img', {
      src,
      alt,
      width: 96,
      height: 96,
      loading: 'lazy',
      decoding: 'async',
      // Image hosts learn nothing about this page (its address carries the request id).
      referrerpolicy: 'no-referrer',
    });
    img.addEventListener(
      'error',
      () =>
        img.replaceWith(
          h('span', { className: 'thumb', role: 'img', 'aria-label': alt }, 'No preview'),
        ),
      { once: true },
    );
    return h('a', { href: src, target: '_blank', rel: 'noopener noreferrer' }, img);
  }

  function outputNode(product, image) {
    const alt = `Compressed image ${image.position} of ${product.product_name}`;
    if (image.status === 'COMPRESSED') return thumb(image.output_url, alt);
    if (image.status === 'FAILED') return h('span', { className: 'thumb' }, 'No output');
    return h('span', { className: 'thumb' }, 'Waiting…');
  }

  function stateNodes(image) {
    const badge = h(
      'span',
      { className: 'badge', dataset: { status: image.status } },
      statusLabel(image.status),
    );
    if (image.status === 'COMPRESSED') {
      const saved = savings(image.bytes_in, image.bytes_out);
      const size =
        image.bytes_in === null || image.bytes_out === null
          ? ''
          : image.bytes_out >= image.bytes_in
            ? `${formatBytes(image.bytes_out)}, original kept (compressing made it no smaller)`
            : `${formatBytes(image.bytes_in)} → ${formatBytes(image.bytes_out)} (−${formatPercent(saved.percent)})`;
      const format = image.format ? `${image.format.toUpperCase()} · ` : '';
      return [
        h('p', { className: 'image-state' }, badge),
        h('span', { className: 'image-size' }, `${format}${size}`),
      ];
    }
    if (image.status === 'FAILED') {
      return [
        h('p', { className: 'image-state' }, badge),
        h(
          'p',
          { className: 'failure' },
          h('code', {}, image.failure_code ?? 'UNKNOWN'),
          ' ',
          failureHelp(image.failure_code),
          image.failure_message ? h('span', { className: 'detail' }, image.failure_message) : null,
        ),
      ];
    }
    return [h('p', { className: 'image-state' }, badge)];
  }

  function updateImage(row, product, image) {
    let entry = row.images.entries.get(image.position);
    if (!entry) {
      const out = h('span', { className: 'out' });
      const state = h('div');
      const li = h(
        'li',
        { className: 'image', dataset: { position: image.position } },
        h(
          'div',
          { className: 'thumbs' },
          thumb(image.input_url, `Original image ${image.position} of ${product.product_name}`),
          h('span', { className: 'arrow', 'aria-hidden': 'true' }, '→'),
          out,
        ),
        state,
      );
      placeInOrder(row.images, image.position, li);
      entry = { node: li, out, state, key: '' };
      row.images.entries.set(image.position, entry);
    }
    // Only what changed is rebuilt: an unchanged thumbnail is never reloaded or re-laid out.
    const key = [image.status, image.output_url, image.failure_code, image.bytes_out].join('|');
    if (entry.key === key) return;
    entry.key = key;
    entry.node.dataset.status = image.status;
    entry.out.replaceChildren(outputNode(product, image));
    entry.state.replaceChildren(...stateNodes(image));
    if (image.status === 'FAILED') row.failed.add(image.position);
    else row.failed.delete(image.position);
    row.node.classList.toggle('has-failed', row.failed.size > 0);
  }

  function mergeProducts(s, products) {
    for (const product of products) {
      const row = rowFor(s, product);
      for (const image of product.images) updateImage(row, product, image);
    }
  }

  /**
   * Reads image pages from the start (or from `from` for "Load more") until `s.target` images
   * are on screen or the last page. Pages are read one after the other: each needs the cursor
   * of the one before.
   */
  async function loadTable(s, { from, loaded = 0 } = {}) {
    if (s.tableLoading) return s.tableLoading;
    const run = async () => {
      let cursor = from;
      let count = loaded;
      let pages = 0;
      do {
        pages += 1;
        const page = await getStatus(s.id, {
          signal: s.controller.signal,
          images: true,
          limit: pageSize,
          cursor,
        });
        if (s !== current) return;
        mergeProducts(s, page.products ?? []);
        count += (page.products ?? []).reduce((n, p) => n + p.images.length, 0);
        cursor = page.images_page?.next_cursor ?? null;
      } while (cursor && count < s.target);
      s.loaded = count;
      s.moreCursor = cursor;
      if (from === undefined) s.tablePages = pages;
      el['more-row'].hidden = !cursor;
      const total = s.last?.progress.total ?? count;
      el['products-heading'].textContent = `Products (${s.rows.entries.size})`;
      el['products-note'].textContent = cursor
        ? `Showing the first ${count} of ${total} images.`
        : s.done || count === total
          ? ''
          : 'Images appear here as they finish.';
      if (s.rows.entries.size === 0) {
        el['products-body'].replaceChildren(
          emptyRow(s.done ? 'This request has no images.' : 'No image has finished yet.'),
        );
      }
    };
    s.tableLoading = run().finally(() => {
      s.tableLoading = undefined;
    });
    return s.tableLoading;
  }

  // ---- polling -------------------------------------------------------------------------------

  async function run(s) {
    let failures = 0;
    const signal = s.controller.signal;
    while (!signal.aborted) {
      let body;
      try {
        body = await getStatus(s.id, { signal });
      } catch (err) {
        if (isAbort(err) || signal.aborted) return;
        if ((err.status === 404 || err.status === 400) && !s.last) {
          hide();
          onLoadProblem(s.id, err);
          return;
        }
        failures += 1;
        const wait = Math.min(
          MAX_RETRY_SECONDS,
          err.retryAfterSeconds ?? 2 ** Math.min(failures - 1, 5),
        );
        if (s.last) {
          el['poll-note'].textContent =
            `Status unavailable (${err.code}), retrying in ${plural(wait, 'second')}…`;
        } else onLoadProblem(s.id, err, wait);
        await sleep(s, wait * 1000);
        continue;
      }
      failures = 0;
      el['poll-note'].textContent = '';
      const first = !s.last;
      renderSummary(s, body);
      if (first && el.request.hidden) {
        onLoadProblem(s.id, undefined);
        el.request.hidden = false;
        if (s.focus) el['request-heading'].focus();
      }

      const final = FINAL_STATUSES.has(body.status);
      const counts = `${body.progress.compressed}/${body.progress.failed}`;
      const due =
        Date.now() - s.tableAt >=
        Math.max(TABLE_REFRESH_MS, s.tablePages * TABLE_REFRESH_PER_PAGE_MS);
      if (final || (counts !== s.tableCounts && due)) {
        s.done = final;
        s.tableCounts = counts;
        s.tableAt = Date.now();
        try {
          await loadTable(s);
        } catch (err) {
          if (isAbort(err) || signal.aborted) return;
          // The summary still updates; the table catches up on a later round.
          el['products-note'].textContent = `Could not load the images (${err.code}); retrying.`;
          if (final) {
            s.tableCounts = '';
            await sleep(s, 2000);
            continue;
          }
        }
        if (final) return;
      }
      await sleep(s, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
    }
  }

  function stop() {
    current?.controller.abort();
    current = undefined;
  }

  function hide() {
    stop();
    el.request.hidden = true;
    document.title = BASE_TITLE;
  }

  /**
   * Shows a request and follows it until it is final. `accepted` is the 202 body of an upload
   * made from this page (the only time the webhook secret is known); `focus` moves keyboard
   * focus to the view once it shows.
   */
  function show(id, { accepted, replayed = false, fileName, focus = false } = {}) {
    stop();
    const s = {
      id,
      controller: new AbortController(),
      last: undefined,
      done: false,
      rows: orderedIn(el['products-body']),
      target: AUTO_LOAD_PAGES * pageSize,
      loaded: 0,
      moreCursor: null,
      tableAt: 0,
      tablePages: 1,
      tableCounts: '',
      tableLoading: undefined,
      wake: undefined,
      focus,
    };
    current = s;
    reset(id);
    el['products-heading'].textContent = 'Products';
    if (accepted) {
      const what = `${plural(accepted.products, 'product')}, ${plural(accepted.images, 'image')}`;
      el['accepted-note'].textContent = replayed
        ? `This upload was already accepted (same file and options): ${what}. Showing that request.`
        : `Accepted${fileName ? ` ${fileName}` : ''}: ${what}. This page follows the progress; its address links back to this request.`;
      el['accepted-note'].hidden = false;
      if (accepted.webhook_secret) {
        el.secret.value = accepted.webhook_secret;
        el['secret-box'].hidden = false;
      }
      // Shown at once from the 202: the first status poll may not have an answer yet.
      renderSummary(s, {
        status: accepted.status ?? 'PENDING',
        progress: {
          total: accepted.images,
          compressed: 0,
          failed: 0,
          pending: accepted.images,
          percent: 0,
        },
        bytes_in: 0,
        bytes_out: 0,
      });
      el['products-body'].replaceChildren(emptyRow('No image has finished yet.'));
      el.request.hidden = false;
      if (focus) el['request-heading'].focus();
    } else {
      el.request.hidden = true;
    }
    void run(s);
  }

  return { show, hide, currentId: () => current?.id };
}
