/**
 * Renders the event catalogue (docs/events.md) from the contracts themselves: the `.avsc` files
 * (every version of every event, field docs, enums, the `imgpipe-schema` header value) and the
 * topic catalogue (names, partitions, keys, retention). Generated rather than written so the
 * page cannot drift from what is on the wire (issue #9, "Docs"); deploy/docs/events-doc.ts
 * writes it and a unit test fails when the committed page is stale.
 *
 * The output is plain Markdown; the writer runs it through Prettier (the repository's format),
 * which only realigns tables. Nothing here depends on the clock or the machine, so the same
 * schemas always give the same page.
 */
import path from 'node:path';
import {
  avroSchemasDir,
  loadSchemaRegistry,
  type AvscField,
  type AvscNamedType,
  type AvscType,
  type SchemaRegistry,
} from './avro';
import { SCHEMA_HEADER } from './codec';
import { EVENT_NAMES, type EventName } from './events';
import { allTopics, Topics, type TopicCatalogue, type TopicSpec } from './topics';

/** Catalogue entries (some are lists of delay tiers) an event is published on. */
type TopicKey = keyof TopicCatalogue;

export interface EventRoute {
  /** Where the event is published (topic catalogue keys). */
  readonly topics: readonly TopicKey[];
  /** Who writes it. */
  readonly writers: string;
  /** Who reads it. */
  readonly readers: string;
}

/**
 * Which topics carry which event, and who writes and reads it. The topic catalogue knows the
 * topics and the `.avsc` docs say the same in prose; this is the one table that ties them
 * together (the unit test checks it against both, so a move of an event to another topic
 * without updating it fails).
 */
export const EVENT_ROUTES: Readonly<Record<EventName, EventRoute>> = {
  RequestAccepted: {
    topics: ['requestEvents'],
    writers: 'ingest, once per accepted upload, acknowledged before any ImageRequested',
    readers: 'aggregator',
  },
  ImageRequested: {
    topics: ['imagesRequested'],
    writers: 'ingest, one per image',
    readers: 'processor',
  },
  ImageCompressed: {
    topics: ['requestEvents'],
    writers: 'processor, once per image that ends compressed',
    readers: 'aggregator',
  },
  ImageFailed: {
    topics: ['requestEvents'],
    writers:
      'processor (final failure of an image); ingest (INTERNAL, for images it could not queue)',
    readers: 'aggregator',
  },
  RequestCompleted: {
    topics: ['requestsCompleted'],
    writers: 'aggregator, exactly once per completion id',
    readers: 'notifier',
  },
  Envelope: {
    topics: [
      'imagesRetry',
      'imagesDlq',
      'notificationsRetry',
      'notificationsDlq',
      'requestEventsDlq',
    ],
    writers:
      "the bus (platform/src/bus) in the processor, notifier and aggregator: retries go to a delay tier, dead letters to the consumer's DLQ",
    readers:
      'the same consumer group, when a delay tier message is due; operators (`npm run dlq:replay`) for dead letters',
  },
};

/** What each topic carries, for the topic table. */
const TOPIC_CONTENTS: Readonly<Record<TopicKey, string>> = {
  requestEvents: 'RequestAccepted, ImageCompressed, ImageFailed',
  imagesRequested: 'ImageRequested',
  imagesRetry: 'Envelope (an ImageRequested waiting for its next attempt)',
  imagesDlq: "Envelope (the processor's dead letters)",
  requestsCompleted: 'RequestCompleted',
  notificationsRetry: 'Envelope (a RequestCompleted waiting for its next delivery attempt)',
  notificationsDlq: "Envelope (the notifier's dead letters)",
  requestEventsDlq: "Envelope (the aggregator's dead letters)",
};

const KEY_TEXT: Readonly<Record<TopicSpec['key'], string>> = {
  requestId: '`requestId`',
  imageId: '`imageId`',
  original: "the original message's key",
};

const PRIMITIVES = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);

/** A record or enum nested inside an event, with where it was first seen. */
interface NamedType {
  readonly name: string;
  readonly json: AvscNamedType;
  /** Events (with version) that define it identically. */
  readonly usedBy: string[];
}

const isTierList = (entry: TopicSpec | readonly TopicSpec[]): entry is readonly TopicSpec[] =>
  Array.isArray(entry);

/** The topics of one catalogue entry (a list for the delay tiers, else one). */
export const topicsOf = (key: TopicKey): readonly TopicSpec[] => {
  const entry: TopicSpec | readonly TopicSpec[] = Topics[key];
  return isTierList(entry) ? entry : [entry];
};

const duration = (ms: number): string => {
  const day = 86_400_000;
  if (ms % day === 0) return `${ms / day} days`;
  return `${ms / 3_600_000} h`;
};

/** Table cells: pipes and line breaks would end the cell. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

const code = (text: string): string => `\`${text}\``;

/** GitHub's heading anchor for a one-word heading. */
const anchor = (name: string): string => `#${name.toLowerCase()}`;

/** How a field type reads in the tables: logical types named, unions as "T or null". */
function typeText(type: AvscType): string {
  if (typeof type === 'string') {
    return PRIMITIVES.has(type) ? code(type) : `[${shortName(type)}](${anchor(shortName(type))})`;
  }
  if (Array.isArray(type)) {
    const others = type.filter((t) => t !== 'null');
    const parts = others.map(typeText);
    return others.length < type.length
      ? `${parts.join(' or ')} or ${code('null')}`
      : parts.join(' or ');
  }
  if (type.name !== undefined && (type.type === 'record' || type.type === 'enum')) {
    return `[${type.name}](${anchor(type.name)}) (${type.type})`;
  }
  if (type.logicalType !== undefined) return `${code(type.type)} (${type.logicalType})`;
  if (type.type === 'map' && type.values !== undefined) return `map of ${typeText(type.values)}`;
  if (type.type === 'array' && type.items !== undefined) return `array of ${typeText(type.items)}`;
  return code(type.type);
}

const shortName = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

/** Collects every record and enum nested in a schema (not the event record itself). */
function nestedTypes(schema: AvscNamedType): AvscNamedType[] {
  const found: AvscNamedType[] = [];
  const visit = (type: AvscType): void => {
    if (typeof type === 'string') return;
    if (Array.isArray(type)) {
      type.forEach(visit);
      return;
    }
    if (type.name !== undefined && type !== schema) found.push(type);
    for (const field of type.fields ?? []) visit(field.type);
    if (type.values !== undefined) visit(type.values);
    if (type.items !== undefined) visit(type.items);
  };
  visit(schema);
  return found;
}

function fieldTable(fields: readonly AvscField[]): string[] {
  const rows = fields.map((f) => {
    const def = 'default' in f ? code(JSON.stringify(f.default)) : '';
    return `| ${code(f.name)} | ${typeText(f.type)} | ${def} | ${cell(f.doc ?? '')} |`;
  });
  return ['| field | type | default | description |', '| --- | --- | --- | --- |', ...rows];
}

/**
 * A catalogue entry's name; a list of delay tiers as one pattern (`imgpipe.images.retry-N.v1`),
 * since the tiers differ only in their number.
 */
const entryName = (specs: readonly TopicSpec[]): string =>
  specs.length === 1 ? specs[0]!.name : specs[0]!.name.replace(/-1(?=\.v\d+$)/, '-N');

/** One catalogue entry in a sentence: name, partitions, key, retention. */
function entryText(key: TopicKey): string {
  const specs = topicsOf(key);
  const first = specs[0]!;
  const name =
    specs.length === 1 ? code(first.name) : `${code(entryName(specs))}, N = 1–${specs.length}`;
  const each = specs.length === 1 ? '' : ' each';
  const partitions = `${first.partitions} partition${first.partitions === 1 ? '' : 's'}`;
  return `${name} (${partitions}${each}, key ${KEY_TEXT[first.key]}, kept ${duration(first.retentionMs)})`;
}

/** Where the `.avsc` file is, relative to the repository root (schemas/avro/...). */
const relativeFile = (registry: SchemaRegistry, file: string): string =>
  path.posix.join('schemas', 'avro', path.relative(registry.dir, file).split(path.sep).join('/'));

export interface RenderOptions {
  /** Defaults to the schemas shipped with this package. */
  registry?: SchemaRegistry;
}

/** The whole docs/events.md page, before Prettier (which only realigns its tables). */
export function renderEventCatalogue(options: RenderOptions = {}): string {
  const registry = options.registry ?? loadSchemaRegistry(avroSchemasDir);
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);

  push(
    '<!-- Generated by `npm run docs:events` (deploy/docs/events-doc.ts) from schemas/avro/**/*.avsc and schemas/src/topics.ts. Do not edit: schemas/src/event-catalogue-doc.test.ts fails when this page and the schemas differ. -->',
    '',
    '# Event catalogue',
    '',
    'Every event imgpipe publishes, generated from the Avro contracts in `schemas/avro/` and the topic catalogue in `schemas/src/topics.ts`. How the events fit together: [architecture.md](architecture.md).',
    '',
    '- Every message value is Avro binary (no framing, no schema registry), written with the latest version of its event.',
    `- Every message carries the header ${code(SCHEMA_HEADER)}: the writer schema's full record name and the SHA-256 of its Parsing Canonical Form, e.g. ${code(registry.latest.RequestAccepted.id)}. A reader resolves any version it ships with into the latest one; a message whose header it does not know is dead-lettered (replayable once the reader is upgraded), never misread.`,
    '- Dead letters (the `Envelope` on a `.dlq` topic) also carry `imgpipe-dead-letter-cause`: `poison` (the message could not be decoded), `fail` (the handler said it can never succeed) or `exhausted` (no attempts left). See [operations.md](operations.md#replaying-a-dead-letter).',
    '- A message replayed from a dead-letter topic (`npm run dlq:replay`) carries its original headers plus `imgpipe-replayed-from: <dlq topic>/<partition>/<offset>`.',
    '- Timestamps are epoch milliseconds (`timestamp-millis`); ids are UUID strings; sizes are bytes. Optional fields are unions with `null` and default to `null`.',
    '- Topic names below are the defaults; `KAFKA_TOPIC_PREFIX` is prepended to every one of them.',
    '',
    '## Topics',
    '',
    '| topic | partitions | key | retention | carries |',
    '| --- | --- | --- | --- | --- |',
  );
  const keyOf = new Map<string, TopicKey>();
  for (const key of Object.keys(Topics) as TopicKey[]) {
    for (const spec of topicsOf(key)) keyOf.set(spec.name, key);
  }
  for (const spec of allTopics()) {
    const key = keyOf.get(spec.name)!;
    push(
      `| ${code(spec.name)} | ${spec.partitions} | ${KEY_TEXT[spec.key]} | ${duration(spec.retentionMs)} | ${TOPIC_CONTENTS[key]} |`,
    );
  }

  push(
    '',
    '## Events',
    '',
    '| event | versions | published on | written by | read by |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const event of EVENT_NAMES) {
    const route = EVENT_ROUTES[event];
    const topics = route.topics.map((key) => code(entryName(topicsOf(key))));
    push(
      `| [${event}](${anchor(event)}) | ${registry.versions[event].map((v) => `v${v.version}`).join(', ')} | ${topics.join(', ')} | ${cell(route.writers)} | ${cell(route.readers)} |`,
    );
  }

  const named = new Map<string, NamedType[]>();
  for (const event of EVENT_NAMES) {
    const route = EVENT_ROUTES[event];
    const latest = registry.latest[event];
    const versions = [...registry.versions[event]].reverse();
    push('', `## ${event}`, '', cell((latest.schema as AvscNamedType).doc ?? ''), '');
    push('Published on:', '');
    for (const key of route.topics) push(`- ${entryText(key)}`);
    push('', `Written by ${route.writers}. Read by ${route.readers}.`);
    for (const version of versions) {
      const schema = version.schema as AvscNamedType;
      push(
        '',
        `### ${event} v${version.version}${version === latest ? ' (latest)' : ''}`,
        '',
        `File ${code(relativeFile(registry, version.file))}; header ${code(`${SCHEMA_HEADER}: ${version.id}`)}.`,
        '',
        ...fieldTable(schema.fields ?? []),
      );
      for (const type of nestedTypes(schema)) {
        const variants = named.get(type.name!) ?? [];
        const same = variants.find((v) => JSON.stringify(v.json) === JSON.stringify(type));
        if (same) same.usedBy.push(`${event} v${version.version}`);
        else
          variants.push({ name: type.name!, json: type, usedBy: [`${event} v${version.version}`] });
        named.set(type.name!, variants);
      }
    }
  }

  push('', '## Named types', '', 'Records and enums used inside the events above.');
  for (const name of [...named.keys()].sort()) {
    const variants = named.get(name)!;
    push('', `### ${name}`);
    for (const variant of variants) {
      const t = variant.json;
      push('');
      if (variants.length > 1) push(`Variant used by ${variant.usedBy.join(', ')}:`, '');
      push(`${t.type === 'enum' ? 'Enum' : 'Record'}. ${cell(t.doc ?? '')}`, '');
      if (variants.length === 1) push(`Used by ${variant.usedBy.join(', ')}.`, '');
      if (t.type === 'enum') {
        push(`Symbols: ${(t.symbols ?? []).map(code).join(', ')}.`);
        if (t.default !== undefined) {
          push(
            '',
            `A reader meeting a symbol it does not know reads ${code(JSON.stringify(t.default))}.`,
          );
        }
      } else {
        push(...fieldTable(t.fields ?? []));
      }
    }
  }
  push('');
  return out.join('\n');
}

/** Every `.avsc` file the page covers, relative to the repository root (for the test). */
export function catalogueFiles(registry: SchemaRegistry = loadSchemaRegistry()): string[] {
  return EVENT_NAMES.flatMap((event) =>
    registry.versions[event].map((v) => relativeFile(registry, v.file)),
  );
}
