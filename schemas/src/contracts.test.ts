/**
 * Keeps the TypeScript event types and the .avsc files in step: the fixtures are typed by the
 * TS contract (tsc checks them), and here every fixture must validate against its schema with
 * exactly the schema's fields, so a field added, removed or retyped on one side only fails.
 */
import { loadSchemaRegistry, type AvroSchema, type AvscField, type AvscType } from './avro';
import {
  EVENT_NAMES,
  FAILURE_CODES,
  IMAGE_FORMATS,
  OUTPUT_FORMATS,
  REQUEST_STATUSES,
  type EventMap,
  type EventName,
} from './events';
import { fixtures } from './fixtures';
import { validationIssues } from './codec';

const registry = loadSchemaRegistry();

/** Every named type (record, enum) of a schema, by short name; every field with its path. */
const walk = (schema: AvroSchema) => {
  const named = new Map<string, Exclude<AvscType, string | AvscType[]>>();
  const fields: { path: string; field: AvscField }[] = [];
  const visit = (type: AvscType, path: string): void => {
    if (typeof type === 'string') return;
    if (Array.isArray(type)) {
      type.forEach((t) => visit(t, path));
      return;
    }
    if (type.name !== undefined) named.set(type.name, type);
    for (const field of type.fields ?? []) {
      const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
      fields.push({ path: fieldPath, field });
      visit(field.type, fieldPath);
    }
    if (type.values !== undefined) visit(type.values, path);
    if (type.items !== undefined) visit(type.items, path);
  };
  visit(schema as AvscType, '');
  return { named, fields };
};

/** The field names of a record type, resolving named references within the schema. */
const recordOf = (
  type: AvscType,
  named: ReturnType<typeof walk>['named'],
): AvscField[] | undefined => {
  if (typeof type === 'string') return named.get(type)?.fields;
  if (Array.isArray(type)) return undefined;
  return type.fields;
};

/** Compares the keys of a value with the fields of its record type, recursively. */
const shapeMismatches = (
  type: AvscType,
  value: unknown,
  named: ReturnType<typeof walk>['named'],
  path = '',
): string[] => {
  if (Array.isArray(type)) {
    // ["null", T]: compare with T when the value is not null.
    return value === null
      ? []
      : type.flatMap((t) => (t === 'null' ? [] : shapeMismatches(t, value, named, path)));
  }
  const fields = recordOf(type, named);
  if (fields === undefined || typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const inSchema = fields.map((f) => f.name);
  const inValue = Object.keys(record);
  const out = [
    ...inSchema.filter((k) => !inValue.includes(k)).map((k) => `${path}${k}: only in the .avsc`),
    ...inValue.filter((k) => !inSchema.includes(k)).map((k) => `${path}${k}: only in the fixture`),
  ];
  for (const f of fields) {
    if (f.name in record)
      out.push(...shapeMismatches(f.type, record[f.name], named, `${path}${f.name}.`));
  }
  return out;
};

describe('fixtures and TS types', () => {
  it('has a fixture for every event, and an event for every schema folder', () => {
    // The fixtures object is typed { [K in EventName]: EventMap[K] }: tsc fails on a missing
    // event or a fixture that does not fit its TS type.
    const typed: { readonly [K in EventName]: EventMap[K] } = fixtures;
    expect(Object.keys(typed).sort()).toEqual([...EVENT_NAMES].sort());
    expect(Object.keys(registry.latest).sort()).toEqual([...EVENT_NAMES].sort());
  });

  it.each(EVENT_NAMES)('%s fixture validates against every version of its schema', (name) => {
    for (const version of registry.versions[name]) {
      expect(validationIssues(version.type, fixtures[name])).toEqual([]);
      expect(version.type.isValid(fixtures[name], { noUndeclaredFields: true })).toBe(true);
    }
  });

  it.each(EVENT_NAMES)('%s: the latest .avsc has exactly the fixture’s fields', (name) => {
    const { schema } = registry.latest[name];
    expect(shapeMismatches(schema as AvscType, fixtures[name], walk(schema).named)).toEqual([]);
  });

  it('detects a field present on one side only', () => {
    const { schema } = registry.latest.ImageFailed;
    const { named } = walk(schema);
    const extra = { ...fixtures.ImageFailed, retryAfterMs: 100 };
    expect(shapeMismatches(schema as AvscType, extra, named)).toEqual([
      'retryAfterMs: only in the fixture',
    ]);
    const { httpStatus: _dropped, ...missing } = fixtures.ImageFailed;
    expect(shapeMismatches(schema as AvscType, missing, named)).toEqual([
      'httpStatus: only in the .avsc',
    ]);
  });
});

describe('schema conventions', () => {
  const all = EVENT_NAMES.flatMap((name) =>
    registry.versions[name].map((v) => ({ name, file: v.file, ...walk(v.schema) })),
  );

  it.each([
    ['FailureCode', FAILURE_CODES],
    ['RequestStatus', REQUEST_STATUSES],
    ['OutputFormat', OUTPUT_FORMATS],
    ['ImageFormat', IMAGE_FORMATS],
  ])('enum %s has exactly the symbols of the TS list, in every file', (enumName, symbols) => {
    const defs = all.flatMap((s) => {
      const def = s.named.get(enumName);
      return def === undefined ? [] : [{ file: s.file, symbols: def.symbols }];
    });
    expect(defs.length).toBeGreaterThan(0);
    for (const def of defs)
      expect({ file: def.file, symbols: def.symbols }).toEqual({
        file: def.file,
        symbols: [...symbols],
      });
  });

  it('defines each shared named type identically wherever it appears', () => {
    const seen = new Map<string, { file: string; json: string }>();
    const differing: string[] = [];
    for (const s of all) {
      for (const [typeName, def] of s.named) {
        const json = JSON.stringify(def);
        const first = seen.get(typeName);
        if (first === undefined) seen.set(typeName, { file: s.file, json });
        // Event records differ between versions by design; shared types must not.
        else if (!EVENT_NAMES.includes(typeName as EventName) && json !== first.json) {
          differing.push(`${typeName}: ${s.file} differs from ${first.file}`);
        }
      }
    }
    expect(differing).toEqual([]);
    expect([...seen.keys()].sort()).toEqual(
      [
        ...EVENT_NAMES,
        'CompressionOptions',
        'FailureCode',
        'ImageFormat',
        'OutputFormat',
        'RequestStatus',
      ].sort(),
    );
  });

  it('namespaces every record and enum under dev.imgpipe.events (directly or inherited)', () => {
    for (const s of all) {
      for (const [typeName, def] of s.named) {
        expect({ typeName, namespace: def.namespace ?? 'dev.imgpipe.events' }).toEqual({
          typeName,
          namespace: 'dev.imgpipe.events',
        });
      }
    }
  });

  it('documents every record, enum and field', () => {
    const undocumented = all.flatMap((s) => [
      ...[...s.named].filter(([, def]) => !def.doc?.trim()).map(([n]) => `${s.file}: type ${n}`),
      ...s.fields.filter((f) => !f.field.doc?.trim()).map((f) => `${s.file}: field ${f.path}`),
    ]);
    expect(undocumented).toEqual([]);
  });

  it('types ids as uuid strings, instants as timestamp-millis longs and byte counts as longs', () => {
    const wrong = all.flatMap((s) =>
      s.fields.flatMap(({ path, field }) => {
        const leaf = path.split('.').pop()!;
        const t = JSON.stringify(field.type);
        if (/Id$/.test(leaf) && t !== '{"type":"string","logicalType":"uuid"}')
          return [`${s.file}: ${path} ${t}`];
        if (/At$/.test(leaf) && t !== '{"type":"long","logicalType":"timestamp-millis"}')
          return [`${s.file}: ${path} ${t}`];
        if (/^bytes/.test(leaf) && t !== '"long"') return [`${s.file}: ${path} ${t}`];
        return [];
      }),
    );
    expect(wrong).toEqual([]);
  });

  it('makes every optional field ["null", T] with default null', () => {
    const wrong = all.flatMap((s) =>
      s.fields
        .filter(({ field }) => Array.isArray(field.type))
        .filter(
          ({ field }) =>
            (field.type as AvscType[])[0] !== 'null' ||
            (field.type as AvscType[]).length !== 2 ||
            field.default !== null,
        )
        .map(({ path }) => `${s.file}: ${path}`),
    );
    expect(wrong).toEqual([]);
  });
});
