/**
 * The upload page (issue #9): upload form with drag and drop, rejections listed by line, the
 * live view of a request, and lookup by id. The shown request lives in the address
 * (`?request=<id>`, or `#<id>`), so a reload or a shared link opens the same view.
 */
import { ApiError, newIdempotencyKey, uploadCsv } from './api.js';
import { byId } from './dom.js';
import { formatBytes, plural } from './format.js';
import { hideRejection, showRejection } from './rejection.js';
import { createRequestView, DEFAULT_PAGE_SIZE } from './request-view.js';

/** The upload's form fields besides the file, as POST /upload names them (ids match). */
const OPTION_FIELDS = ['quality', 'format', 'max_dimension', 'webhook_url', 'email'];
const FIELD_IDS = new Set(['file', ...OPTION_FIELDS]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const form = byId('upload-form');
const fileInput = byId('file');
const dropzone = byId('dropzone');
const fileStatus = byId('file-status');
const submit = byId('upload-submit');
const uploadState = byId('upload-state');
const lookupForm = byId('lookup-form');
const lookupInput = byId('lookup-id');

/** The file to upload: from the picker or from a drop. */
let chosenFile;
/**
 * Sent as Idempotency-Key. Kept while an attempt got no definite answer (network failure,
 * 503), so uploading again cannot create a second request; a new one after any definite
 * answer or any change to the form.
 */
let idempotencyKey;

function setFieldError(id, message) {
  const input = byId(id);
  const slot = byId(`${id}-error`);
  slot.textContent = message ?? '';
  slot.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function clearFieldErrors() {
  for (const id of FIELD_IDS) setFieldError(id, undefined);
}

/** `?page_size=N` (1–1000) makes the image table page through a small request (tests use it). */
function pageSizeFromUrl() {
  const n = Number(new URLSearchParams(location.search).get('page_size'));
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : DEFAULT_PAGE_SIZE;
}

const view = createRequestView({
  pageSize: pageSizeFromUrl(),
  onLoadProblem(id, err, retryIn) {
    if (!err) {
      setFieldError('lookup-id', undefined);
      return;
    }
    lookupInput.value = id;
    if (err.status === 404) {
      setFieldError(
        'lookup-id',
        `${err.message} (${err.code}). Check the id: it is in the upload's answer, its status URL and the output CSV's file name.`,
      );
    } else if (err.status === 400) {
      setFieldError('lookup-id', `${err.message} (${err.code})`);
    } else {
      // The id may well be right; the status API is down for a moment. Not the input's fault.
      setFieldError(
        'lookup-id',
        `Could not load request ${id}: ${err.message} (${err.code}). Retrying in ${plural(retryIn, 'second')}…`,
      );
      lookupInput.removeAttribute('aria-invalid');
      return;
    }
    // Focus on the input: its description, the error, is read out with it.
    lookupInput.focus();
  },
});

// ---- choosing the file -------------------------------------------------------------------------

function chooseFile(file, { announce = true } = {}) {
  chosenFile = file;
  idempotencyKey = undefined;
  fileStatus.textContent = file ? `${file.name} (${formatBytes(file.size)})` : 'No file chosen';
  dropzone.classList.toggle('has-file', Boolean(file));
  setFieldError('file', undefined);
  if (announce) uploadState.textContent = file ? `${file.name} chosen.` : '';
}

fileInput.addEventListener('change', () => chooseFile(fileInput.files?.[0]));

const carriesFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');

for (const type of ['dragenter', 'dragover']) {
  dropzone.addEventListener(type, (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    dropzone.classList.add('dragging');
  });
}
dropzone.addEventListener('dragleave', (event) => {
  if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove('dragging');
});
dropzone.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropzone.classList.remove('dragging');
  const files = event.dataTransfer.files;
  if (files.length !== 1) {
    setFieldError('file', `Drop one CSV file (you dropped ${files.length}).`);
    return;
  }
  // Mirrors the drop into the input so the form and the picker agree on the chosen file.
  try {
    fileInput.files = files;
  } catch {
    // Older browsers cannot set input.files; chosenFile carries it instead.
  }
  chooseFile(files[0]);
});
// A file dropped next to the zone must not make the browser open it and leave the page
// (losing the progress view and a webhook secret shown once).
for (const type of ['dragover', 'drop']) {
  window.addEventListener(type, (event) => {
    if (!carriesFiles(event) || dropzone.contains(event.target)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'none';
  });
}

form.addEventListener('input', () => {
  idempotencyKey = undefined;
});

// ---- uploading ---------------------------------------------------------------------------------

/** Browser-side checks first (no round trip for an empty quality box); ingest checks again. */
function localProblems() {
  const problems = [];
  if (!chosenFile) problems.push(['file', 'Choose a CSV file first, or drop one on the box.']);
  for (const id of OPTION_FIELDS) {
    const input = byId(id);
    if (!input.checkValidity()) problems.push([id, input.validationMessage]);
  }
  return problems;
}

function addressFor(requestId) {
  const url = new URL(location.href);
  url.hash = '';
  const pageSize = url.searchParams.get('page_size');
  url.search = '';
  url.searchParams.set('request', requestId);
  if (pageSize) url.searchParams.set('page_size', pageSize);
  return url.href;
}

async function upload() {
  clearFieldErrors();
  const problems = localProblems();
  if (problems.length > 0) {
    for (const [id, message] of problems) setFieldError(id, message);
    uploadState.textContent = `${plural(problems.length, 'problem')} to fix before uploading.`;
    byId(problems[0][0]).focus();
    return;
  }
  const file = chosenFile;
  const body = new FormData();
  body.append('file', file, file.name);
  for (const id of OPTION_FIELDS) {
    const value = byId(id).value.trim();
    if (value !== '') body.append(id, value);
  }
  idempotencyKey ??= newIdempotencyKey();

  submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  uploadState.textContent = `Uploading ${file.name} (${formatBytes(file.size)})…`;
  try {
    const { accepted, replayed } = await uploadCsv(body, idempotencyKey);
    idempotencyKey = undefined;
    hideRejection();
    // Cleared so that pressing the button again does not upload the same file twice by accident.
    fileInput.value = '';
    chooseFile(undefined, { announce: false });
    uploadState.textContent = '';
    history.pushState({ request: accepted.request_id }, '', addressFor(accepted.request_id));
    lookupInput.value = accepted.request_id;
    setFieldError('lookup-id', undefined);
    view.show(accepted.request_id, { accepted, replayed, fileName: file.name, focus: true });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const unanswered =
      err.status === 0 ||
      (err.status >= 500 && !['ERR_REQUEST_CLOSED', 'ERR_REQUEST_STRANDED'].includes(err.code)) ||
      err.code === 'ERR_IDEMPOTENCY_IN_PROGRESS';
    if (!unanswered) idempotencyKey = undefined;
    uploadState.textContent = '';
    const fieldProblems = showRejection(err, {
      fieldIds: FIELD_IDS,
      onLookup: (id) => lookup(id),
    });
    const byField = new Map();
    for (const p of fieldProblems)
      byField.set(p.field, [...(byField.get(p.field) ?? []), p.problem]);
    for (const [field, messages] of byField) setFieldError(field, messages.join('; '));
  } finally {
    submit.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  upload().catch((err) => {
    uploadState.textContent = `Upload failed: ${err.message}`;
    submit.disabled = false;
  });
});

// ---- looking up a request ----------------------------------------------------------------------

function lookup(requestId) {
  setFieldError('lookup-id', undefined);
  hideRejection();
  lookupInput.value = requestId;
  history.pushState({ request: requestId }, '', addressFor(requestId));
  view.show(requestId, { focus: true });
}

lookupForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const id = lookupInput.value.trim();
  if (id === '') {
    setFieldError('lookup-id', 'Enter a request id.');
    lookupInput.focus();
    return;
  }
  lookup(id);
});

/** The request named by the address: `?request=<id>`, or a `#<id>` fragment that is a UUID. */
function requestInAddress() {
  const fromQuery = new URLSearchParams(location.search).get('request')?.trim();
  if (fromQuery) return fromQuery;
  const fragment = decodeURIComponent(location.hash.slice(1)).trim();
  // Other fragments are in-page links (the error summary links to its inputs).
  return UUID.test(fragment) ? fragment : undefined;
}

function route({ focus }) {
  const id = requestInAddress();
  if (id === undefined) {
    view.hide();
    return;
  }
  if (view.currentId() === id) return;
  lookupInput.value = id;
  view.show(id, { focus });
}

window.addEventListener('popstate', () => route({ focus: true }));
route({ focus: false });
