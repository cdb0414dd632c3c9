/**
 * docs/events.md is generated from the .avsc files; these tests keep the committed page equal
 * to the generator's output (so it cannot drift) and check that the generator really covers
 * every contract: every file, every field, every enum symbol, the right topics and keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEAD_LETTER_CAUSE_HEADER } from '@imgpipe/platform';
import { committedEventsDoc, eventsDoc } from '../../deploy/docs/events-doc';
import { REPLAYED_FROM_HEADER } from '../../deploy/ops/lib/dead-letters';
import { avroSchemasDir, loadSchemaRegistry, type AvscNamedType } from './avro';
import { SCHEMA_HEADER } from './codec';
import {
  catalogueFiles,
  EVENT_ROUTES,
  renderEventCatalogue,
  topicsOf,
} from './event-catalogue-doc';
import { EVENT_NAMES, FAILURE_CODES } from './events';
import { allTopics } from './topics';

const registry = loadSchemaRegistry();
const page = renderEventCatalogue({ registry });

/** Every .avsc file on disk, found independently of the registry (a file it skipped counts). */
function avscOnDisk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.avsc'))
    .map((e) =>
      path.posix.join(
        'schemas/avro',
        path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'),
      ),
    )
    .sort();
}

/** Every record (event or nested) and enum of a schema. */
function namedTypes(schema: unknown): AvscNamedType[] {
  const out: AvscNamedType[] = [];
  const visit = (t: unknown): void => {
    if (Array.isArray(t)) return t.forEach(visit);
    if (typeof t !== 'object' || t === null) return;
    const n = t as AvscNamedType;
    if (n.name !== undefined) out.push(n);
    for (const f of n.fields ?? []) visit(f.type);
    visit(n.values);
    visit(n.items);
  };
  visit(schema);
  return out;
}

describe('docs/events.md', () => {
  it('is the generator output (regenerate with `npm run docs:events`)', () => {
    const expected = eventsDoc();
    const committed = committedEventsDoc();
    const firstDiff = committed
      .split('\n')
      .findIndex((line, i) => line !== expected.split('\n')[i]);
    expect(
      committed === expected
        ? 'up to date'
        : `docs/events.md is stale (first difference at line ${firstDiff + 1}): run \`npm run docs:events\` and commit the result`,
    ).toBe('up to date');
  });

  it('covers every .avsc file with its imgpipe-schema header value', () => {
    const files = avscOnDisk(avroSchemasDir);
    expect(files.length).toBeGreaterThanOrEqual(EVENT_NAMES.length);
    expect(catalogueFiles(registry).sort()).toEqual(files);
    for (const event of EVENT_NAMES) {
      for (const version of registry.versions[event]) {
        expect(page).toContain(`### ${event} v${version.version}`);
        expect(page).toContain(`\`${SCHEMA_HEADER}: ${version.id}\``);
      }
    }
  });

  it('lists every field with its doc, and every enum symbol', () => {
    const missing: string[] = [];
    for (const event of EVENT_NAMES) {
      for (const version of registry.versions[event]) {
        for (const type of namedTypes(version.schema)) {
          for (const field of type.fields ?? []) {
            const doc = (field.doc ?? '').replace(/\|/g, '\\|');
            if (!page.includes(`| \`${field.name}\` |`) || !page.includes(doc)) {
              missing.push(`${event} v${version.version}: ${type.name}.${field.name}`);
            }
          }
          for (const symbol of type.symbols ?? []) {
            if (!page.includes(`\`${symbol}\``)) missing.push(`${type.name}.${symbol}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
    for (const code of FAILURE_CODES) expect(page).toContain(`\`${code}\``);
  });

  it('names every topic of the catalogue, with partitions and key', () => {
    for (const topic of allTopics()) {
      expect(page).toMatch(
        new RegExp(`\\| \`${topic.name.replace(/\./g, '\\.')}\` \\| ${topic.partitions} \\|`),
      );
    }
  });

  it('documents the headers a reader meets', () => {
    expect(page).toContain(`\`${SCHEMA_HEADER}\``);
    expect(page).toContain(`\`${DEAD_LETTER_CAUSE_HEADER}\``);
    expect(page).toContain(`\`${REPLAYED_FROM_HEADER}: `);
  });
});

describe('EVENT_ROUTES (which event is published where)', () => {
  const specs = topicsOf;

  it("agrees with each event's .avsc doc, which names its topic", () => {
    for (const event of EVENT_NAMES.filter((e) => e !== 'Envelope')) {
      const doc = (registry.latest[event].schema as { doc: string }).doc;
      for (const key of EVENT_ROUTES[event].topics) {
        // The docs use logical names: "requests.events" for imgpipe.requests.events.v1.
        const logical = specs(key)[0]!
          .name.replace(/^imgpipe\./, '')
          .replace(/\.v\d+$/, '');
        expect(`${event}: ${doc}`).toContain(logical);
      }
    }
  });

  it('publishes each event on topics keyed by one of its own fields (envelopes keep the original key)', () => {
    const problems: string[] = [];
    for (const event of EVENT_NAMES) {
      const fields = new Set(
        ((registry.latest[event].schema as AvscNamedType).fields ?? []).map((f) => f.name),
      );
      for (const spec of EVENT_ROUTES[event].topics.flatMap(specs)) {
        const envelope = event === 'Envelope';
        if (spec.key === 'original' && !envelope) problems.push(`${event} on ${spec.name}`);
        if (spec.key !== 'original' && !envelope && !fields.has(spec.key)) {
          problems.push(`${event} has no ${spec.key} for ${spec.name}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('puts every topic of the catalogue under some event', () => {
    const routed = new Set(
      EVENT_NAMES.flatMap((e) =>
        EVENT_ROUTES[e].topics.flatMap((k) => specs(k).map((s) => s.name)),
      ),
    );
    expect(
      allTopics()
        .filter((t) => !routed.has(t.name))
        .map((t) => t.name),
    ).toEqual([]);
  });
});
