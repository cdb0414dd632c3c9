/**
 * Shows why an upload was not accepted: the error code and message, what to do, and every
 * problem in `error.details` — CSV problems by line and column, form-field problems linked to
 * their input, or the request a failed accept created (503 ERR_REQUEST_CLOSED).
 */
import { h, byId } from './dom.js';
import { plural } from './format.js';

const els = {
  section: () => byId('rejection'),
  heading: () => byId('rejection-heading'),
  code: () => byId('rejection-code'),
  message: () => byId('rejection-message'),
  advice: () => byId('rejection-advice'),
  details: () => byId('rejection-details'),
};

/** What a person can do next, beyond the server's message. */
function adviceFor(err) {
  const retry =
    err.retryAfterSeconds === undefined
      ? 'in a moment'
      : `in ${plural(err.retryAfterSeconds, 'second')}`;
  if (err.status === 0) {
    return 'Check your connection and upload again. If the first attempt did reach imgpipe, uploading the same file with the same options again returns that request instead of creating a second one.';
  }
  if (err.code === 'ERR_REQUEST_CLOSED' || err.code === 'ERR_REQUEST_STRANDED') {
    return `The request below was closed as failed. Upload the file again ${retry}.`;
  }
  if (err.status === 503) return `Nothing was accepted. Upload the file again ${retry}.`;
  if (err.code === 'ERR_IDEMPOTENCY_IN_PROGRESS') return `Upload again ${retry} to see its result.`;
  if (err.status === 413) return 'Split the file into several smaller CSV files and upload each.';
  if (err.status === 415 || err.code === 'ERR_CSV_ENCODING' || err.code === 'ERR_CSV_BINARY') {
    return 'In your spreadsheet, use "Save as" or "Download as" with the format "CSV UTF-8".';
  }
  if (err.status >= 500) return `This is a fault on imgpipe's side. Try again ${retry}.`;
  return undefined;
}

const show = (value) => (value === null || value === undefined ? '—' : String(value));

/** The problems table: only the columns some problem fills (Line, Column, Field, Value). */
function problemsTable(problems, fieldIds) {
  const has = (key) => problems.some((p) => p[key] !== null && p[key] !== undefined);
  const byLine = problems.some((p) => 'line' in p);
  const columns = [
    byLine && { key: 'line', title: 'Line', className: 'num' },
    has('column') && { key: 'column', title: 'Column', className: 'num' },
    has('field') && { key: 'field', title: 'Field' },
    has('value') && { key: 'value', title: 'Value' },
    { key: 'problem', title: 'Problem' },
  ].filter(Boolean);

  const cell = (problem, column) => {
    const value = problem[column.key];
    if (column.key === 'field' && typeof value === 'string' && fieldIds.has(value)) {
      // Jumps to the input, as an error summary should.
      return h('td', {}, h('a', { href: `#${value}` }, value));
    }
    if (column.key === 'value' && value !== null && value !== undefined) {
      return h('td', {}, h('code', {}, String(value)));
    }
    if (column.key === 'line' && value === null) return h('td', { className: 'num' }, 'whole file');
    return h('td', { className: column.className }, show(value));
  };

  const caption = byLine
    ? `${plural(problems.length, 'problem')}, by line of your file`
    : plural(problems.length, 'problem');
  return h(
    'table',
    { className: 'problems' },
    h('caption', { className: 'visually-hidden' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { scope: 'col' }, c.title)),
      ),
    ),
    h(
      'tbody',
      {},
      problems.map((p) =>
        h(
          'tr',
          {},
          columns.map((c) => cell(p, c)),
        ),
      ),
    ),
  );
}

function detailsNode(details, fieldIds, onLookup) {
  if (Array.isArray(details)) {
    const problems = details.filter((d) => d !== null && typeof d === 'object');
    return problems.length === 0 ? undefined : problemsTable(problems, fieldIds);
  }
  if (details === null || typeof details !== 'object') return undefined;
  if (typeof details.request_id === 'string') {
    const id = details.request_id;
    return h(
      'p',
      {},
      'A request was created and closed: ',
      h(
        'a',
        {
          href: `?request=${encodeURIComponent(id)}`,
          onClick: (event) => {
            event.preventDefault();
            onLookup(id);
          },
        },
        `see request ${id}`,
      ),
      typeof details.images_queued === 'number'
        ? ` (${plural(details.images_queued, 'image')} were queued before the failure).`
        : '.',
    );
  }
  return h(
    'dl',
    {},
    Object.entries(details).map(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v)),
    ]),
  );
}

/**
 * Renders the rejection and moves focus to its heading (so screen readers read it at once).
 * `fieldIds`: form inputs that field problems can link to. Returns the field problems so the
 * caller can mark those inputs.
 */
export function showRejection(err, { fieldIds, onLookup }) {
  els.heading().textContent =
    err.status === 0
      ? 'Upload failed: no answer'
      : err.status === 503
        ? 'Upload not accepted: imgpipe is busy or partly down'
        : 'Upload rejected';
  els.code().textContent = err.code;
  els.message().textContent = err.message;
  const advice = adviceFor(err);
  els.advice().hidden = advice === undefined;
  els.advice().textContent = advice ?? '';
  const node = detailsNode(err.details, fieldIds, onLookup);
  els.details().replaceChildren(...(node ? [node] : []));
  els.section().hidden = false;
  els.heading().focus();
  return Array.isArray(err.details)
    ? err.details.filter((d) => d && typeof d.field === 'string' && fieldIds.has(d.field))
    : [];
}

export function hideRejection() {
  els.section().hidden = true;
  els.details().replaceChildren();
}
