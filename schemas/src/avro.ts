/**
 * The Avro contracts on disk (schemas/avro/<Event>/v<N>.avsc) loaded into avsc types: every
 * version of every event, the latest as the reader, and a resolver from each older version
 * into it. Parsing is the same for writers and readers, so fingerprints and resolution agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Type, types } from 'avsc';
import { EVENT_NAMES, type EventName } from './events';
import { isUuid } from './ids';

/** An Avro schema as avsc accepts it (JSON object or an already parsed type). */
export type AvroSchema = Parameters<typeof Type.forSchema>[0];
/**
 * The JSON shape of a schema as written in the `.avsc` files (what `SchemaVersion.schema`
 * holds), for code that walks the contracts: the docs generator and the contract tests.
 */
export type AvscType = string | AvscType[] | AvscNamedType;
export interface AvscNamedType {
  type: string;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: AvscField[];
  symbols?: string[];
  default?: unknown;
  logicalType?: string;
  values?: AvscType;
  items?: AvscType;
}
export interface AvscField {
  name: string;
  type: AvscType;
  doc?: string;
  default?: unknown;
}

/** An avsc resolver: reads bytes written with one schema as another. */
export type AvroResolver = ReturnType<Type['createResolver']>;

/**
 * Folder of the `.avsc` files. Resolved from this file's folder's parent so it is found both
 * from src/ (tsx, Jest) and from dist/ (compiled), like cqlMigrationsDir.
 */
export const avroSchemasDir: string = path.resolve(__dirname, '..', 'avro');

/** Namespace of every record and enum of the contracts. */
export const EVENT_NAMESPACE = 'dev.imgpipe.events';

/**
 * `uuid` strings are checked on write (encoding a non-UUID id fails naming the field) and on
 * read (a garbage message rarely survives a UUID check on its first field). Values stay
 * strings. No other logical type is registered: `timestamp-millis` stays a plain number of
 * epoch milliseconds, never a Date.
 */
class UuidType extends types.LogicalType {
  protected override _fromValue(value: unknown): unknown {
    if (!isUuid(value)) {
      // Shortened: garbage bytes can make a very long "string".
      throw new Error(`not a UUID: ${JSON.stringify(String(value).slice(0, 40))}`);
    }
    return value;
  }

  protected override _toValue(value: unknown): unknown {
    // undefined tells avsc the value is invalid (isValid reports it through the errorHook).
    return isUuid(value) ? value : undefined;
  }

  protected override _resolve(writer: Type): unknown {
    // A writer's plain string (or uuid) field can be read as a uuid; the read check still runs.
    if (Type.isType(writer, 'string', 'logical:uuid')) {
      return (value: unknown) => this._fromValue(value);
    }
    return undefined;
  }
}

/** Parses a schema exactly as the codec does (same logical types, unwrapped nullable unions). */
export const parseSchema = (schema: AvroSchema): Type =>
  Type.forSchema(schema, {
    logicalTypes: { uuid: UuidType },
    // Our unions are all ["null", T]: decoded values are plain `T | null`, as the TS types say.
    wrapUnions: 'never',
  });

/**
 * Names a writer schema in the `imgpipe-schema` header: full record name + SHA-256 of its
 * Parsing Canonical Form (avsc's `fingerprint`), so docs and defaults do not change it but
 * any change to what is on the wire does.
 */
export const schemaId = (type: Type): string =>
  `${String(type.name)}@${type.fingerprint('sha256').toString('hex')}`;

export interface SchemaVersion {
  readonly event: EventName;
  readonly version: number;
  readonly file: string;
  /** The parsed JSON of the .avsc file. */
  readonly schema: AvroSchema;
  readonly type: Type;
  /** Value of the `imgpipe-schema` header for messages written with this version. */
  readonly id: string;
}

export interface SchemaRegistry {
  readonly dir: string;
  /** Every version of every event, oldest first. */
  readonly versions: Readonly<Record<EventName, readonly SchemaVersion[]>>;
  /** The version written by encoders and read into by decoders. */
  readonly latest: Readonly<Record<EventName, SchemaVersion>>;
  /**
   * Writer schema id → how to read it: the event, the latest reader, and the resolver from
   * that writer into it (undefined when the writer is the latest: no resolution needed).
   */
  readonly readers: ReadonlyMap<
    string,
    {
      readonly event: EventName;
      readonly reader: Type;
      readonly resolver: AvroResolver | undefined;
    }
  >;
}

const VERSION_FILE = /^v([1-9]\d*)\.avsc$/;

const fail = (message: string): never => {
  throw new Error(`Avro schemas: ${message}`);
};

const loadVersion = (
  dir: string,
  event: EventName,
  file: string,
  version: number,
): SchemaVersion => {
  const full = path.join(dir, event, file);
  let schema: AvroSchema;
  let type: Type;
  try {
    schema = JSON.parse(fs.readFileSync(full, 'utf8')) as AvroSchema;
    type = parseSchema(schema);
  } catch (err) {
    return fail(`${full}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const expected = `${EVENT_NAMESPACE}.${event}`;
  if (type.name !== expected) {
    fail(`${full}: record name is ${String(type.name)}, expected ${expected}`);
  }
  return { event, version, file: full, schema, type, id: schemaId(type) };
};

/**
 * Reads every `.avsc` under `dir` and checks the layout: one folder per event, versions
 * v1..vN without gaps, record names `dev.imgpipe.events.<Event>`, and every older version
 * resolvable into the latest (otherwise a reader could not read what older writers wrote).
 * Throws, naming the file, on any problem: a broken contract must stop the process at start.
 */
export function loadSchemaRegistry(dir: string = avroSchemasDir): SchemaRegistry {
  const folders = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const folder of folders) {
    if (!(EVENT_NAMES as readonly string[]).includes(folder.name)) {
      fail(
        `${path.join(dir, folder.name)} is not an event (expected one of ${EVENT_NAMES.join(', ')})`,
      );
    }
  }
  const versions = {} as Record<EventName, SchemaVersion[]>;
  const latest = {} as Record<EventName, SchemaVersion>;
  const readers = new Map<
    string,
    { event: EventName; reader: Type; resolver: AvroResolver | undefined }
  >();
  for (const event of EVENT_NAMES) {
    const eventDir = path.join(dir, event);
    if (!fs.existsSync(eventDir)) {
      fail(`no schema for ${event} (expected ${path.join(eventDir, 'v1.avsc')})`);
    }
    const numbered = fs
      .readdirSync(eventDir)
      .map((file) => {
        const match = VERSION_FILE.exec(file);
        if (!match) {
          return fail(`${path.join(eventDir, file)}: expected files named v<N>.avsc`);
        }
        return { file, version: Number(match[1]) };
      })
      .sort((a, b) => a.version - b.version);
    numbered.forEach(({ version }, i) => {
      if (version !== i + 1) {
        fail(
          `${eventDir}: versions must be v1..vN without gaps, found v${version} at position ${i + 1}`,
        );
      }
    });
    if (numbered.length === 0) {
      fail(`no schema for ${event} (expected ${path.join(eventDir, 'v1.avsc')})`);
    }
    const loaded = numbered.map(({ file, version }) => loadVersion(dir, event, file, version));
    const newest = loaded[loaded.length - 1]!;
    versions[event] = loaded;
    latest[event] = newest;
    for (const writer of loaded) {
      if (readers.has(writer.id)) {
        // Same wire schema as an earlier version (only docs/defaults changed): same reading.
        continue;
      }
      let resolver: AvroResolver | undefined;
      if (writer !== newest) {
        try {
          resolver = newest.type.createResolver(writer.type);
        } catch (err) {
          fail(
            `${newest.file} cannot read ${writer.file}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      readers.set(writer.id, { event, reader: newest.type, resolver });
    }
  }
  return { dir, versions, latest, readers };
}
