/**
 * The Postman collection (issue #9, "API documentation") run by newman against the real stack,
 * as a user would run it: `newman run docs/imgpipe.postman_collection.json --working-dir
 * docs/postman`. The committed CSVs point at the samples server `npm start` runs on :8090,
 * which a test stack does not have, so the working directory here is a temp copy whose
 * products.csv points at this test's image origin instead (same file names, same rows).
 * Every answer newman got is also checked against docs/openapi.yaml.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import newman, { type NewmanRunSummary } from 'newman';
import { loadApiContract } from '../support/openapi';
import {
  POSTMAN_COLLECTION_PATH,
  POSTMAN_FILES_DIR,
  collectionRequests,
  loadPostmanCollection,
} from '../support/openapi-postman';
import {
  startImageOrigin,
  startWebhookReceiver,
  type ImageOrigin,
  type WebhookReceiver,
} from './support/servers';
import { artifactsDir, startStack, type Stack } from './support/stack';

/** Where `npm start` serves the sample images the committed products.csv uses. */
const LOCAL_SAMPLES = 'http://127.0.0.1:8090/samples/';

let stack: Stack;
let origin: ImageOrigin;
let receiver: WebhookReceiver;
let workingDir: string;

jest.setTimeout(420_000);

beforeAll(async () => {
  [stack, origin, receiver] = await Promise.all([
    startStack(),
    startImageOrigin(),
    startWebhookReceiver(),
  ]);
  workingDir = await mkdtemp(path.join(tmpdir(), 'imgpipe-postman-'));
  const products = await readFile(path.join(POSTMAN_FILES_DIR, 'products.csv'), 'utf8');
  const local = products.replaceAll(LOCAL_SAMPLES, `${origin.base}/img/`);
  // Same rows, only the image host differs (the origin serves the same generated samples).
  if (!products.includes(LOCAL_SAMPLES) || local.includes(LOCAL_SAMPLES)) {
    throw new Error(`docs/postman/products.csv no longer uses ${LOCAL_SAMPLES}; update this test`);
  }
  await writeFile(path.join(workingDir, 'products.csv'), local);
  // Rejected before any image is fetched: used as committed.
  await writeFile(
    path.join(workingDir, 'invalid.csv'),
    await readFile(path.join(POSTMAN_FILES_DIR, 'invalid.csv')),
  );
}, 240_000);

afterAll(async () => {
  // The collection deletes the endpoint it registers; if a run stopped half-way, do it here
  // (every test stack's notifier delivers to every registered endpoint).
  if (stack) {
    const res = await fetch(`${stack.baseUrl}/webhooks`).catch(() => undefined);
    if (res?.ok) {
      const { webhooks } = (await res.json()) as { webhooks: { id: string; url: string }[] };
      for (const w of webhooks.filter((x) => x.url.startsWith(receiver.url))) {
        await fetch(`${stack.baseUrl}/webhooks/${w.id}`, { method: 'DELETE' });
      }
    }
  }
  await Promise.all([stack?.stop(), origin?.close(), receiver?.close()]);
  if (workingDir) await rm(workingDir, { recursive: true, force: true });
});

function runCollection(): Promise<NewmanRunSummary> {
  const reports = path.join(artifactsDir, 'postman');
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection: POSTMAN_COLLECTION_PATH,
        // Environment values win over the collection's variables of the same name.
        envVar: [
          { key: 'baseUrl', value: stack.baseUrl },
          { key: 'webhookUrl', value: receiver.url },
        ],
        workingDir,
        insecureFileRead: false,
        timeoutRequest: 30_000,
        color: 'off',
        reporters: ['json', 'junit'],
        reporter: {
          json: { export: path.join(reports, 'newman-report.json') },
          junit: { export: path.join(reports, 'newman-report.xml') },
        },
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

it('runs every request of the collection against the stack with no failure', async () => {
  const summary = await runCollection();
  const failures = summary.run.failures.map(
    (f) => `${f.source?.name ?? f.at}: ${f.error.test ?? ''} ${f.error.message}`,
  );
  expect(failures).toEqual([]);
  expect(summary.error).toBeUndefined();

  // Every request ran (the polling step may run several times).
  const names = new Set(summary.run.executions.map((e) => e.item.name));
  const expected = collectionRequests(loadPostmanCollection()).map((r) => r.name);
  expect(expected.filter((n) => !names.has(n))).toEqual([]);
  expect(summary.run.stats.assertions.total).toBeGreaterThanOrEqual(expected.length);

  // And every answer newman saw is one the OpenAPI document declares.
  const contract = loadApiContract();
  const base = new URL(stack.baseUrl);
  for (const execution of summary.run.executions) {
    const url = new URL(execution.request.url.toString(), base);
    const headers = Object.fromEntries(
      execution.response.headers.all().map((h) => [h.key.toLowerCase(), String(h.value)]),
    );
    const binary = /^image\//.test(headers['content-type'] ?? '');
    const stream = execution.response.stream ?? Buffer.alloc(0);
    contract.checkResponse({
      method: execution.request.method,
      url: `${url.pathname}${url.search}`,
      status: execution.response.code,
      headers,
      body: binary ? (stream.length > 0 ? '(binary)' : '') : stream.toString('utf8'),
    });
  }
});
