import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { avroSchemasDir, loadSchemaRegistry, type AvroSchema } from './avro';
import { createCodec, SCHEMA_HEADER } from './codec';
import { checkCompatibility } from './compatibility';
import { EVENT_NAMES } from './events';
import { fixture, fixtures } from './fixtures';

const registry = loadSchemaRegistry();

/** What `run` throws (fails the test when it throws nothing). */
const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, nothing was thrown');
};

interface RecordJson {
  type: 'record';
  name: string;
  fields: { name: string; type: unknown; doc?: string; default?: unknown }[];
  [attr: string]: unknown;
}

/** A deep copy of a real v1 schema, to derive changed versions from. */
const v1 = (name: (typeof EVENT_NAMES)[number]): RecordJson =>
  JSON.parse(JSON.stringify(registry.versions[name][0]!.schema)) as RecordJson;

const withField = (schema: RecordJson, field: RecordJson['fields'][number]): RecordJson => ({
  ...schema,
  fields: [...schema.fields, field],
});

const retyped = (schema: RecordJson, fieldName: string, type: unknown): RecordJson => ({
  ...schema,
  fields: schema.fields.map((f) => (f.name === fieldName ? { ...f, type } : f)),
});

const expectIncompatible = (reader: RecordJson, writer: RecordJson): void => {
  const result = checkCompatibility(reader as AvroSchema, writer as AvroSchema);
  expect(result.compatible).toBe(false);
  expect((result as { reason: string }).reason).toMatch(/\S/);
};

describe('the schemas in schemas/avro', () => {
  // Full compatibility, transitively: during a rolling deploy old readers meet new writers and
  // new readers meet old writers (and replays bring back messages of any age).
  it.each(EVENT_NAMES)('%s: every version reads every other version', (name) => {
    const versions = registry.versions[name];
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.map((v) => v.version)).toEqual(versions.map((_, i) => i + 1));
    for (const reader of versions) {
      for (const writer of versions) {
        expect({
          reader: reader.file,
          writer: writer.file,
          ...checkCompatibility(reader.type, writer.type),
        }).toEqual({ reader: reader.file, writer: writer.file, compatible: true });
      }
    }
  });
});

describe('checkCompatibility', () => {
  it('fails a new field without a default (the reader cannot fill it from old data)', () => {
    const reader = withField(v1('ImageCompressed'), {
      name: 'quality',
      type: 'int',
      doc: 'Quality used.',
    });
    expectIncompatible(reader, v1('ImageCompressed'));
  });

  it('fails a type change from long to string', () => {
    const writer = v1('ImageCompressed');
    const reader = retyped(writer, 'bytesIn', 'string');
    expectIncompatible(reader, writer);
    expectIncompatible(writer, reader);
  });

  it('fails an enum losing a symbol old writers may have written', () => {
    const writer = v1('ImageCompressed');
    const reader = retyped(writer, 'format', {
      type: 'enum',
      name: 'ImageFormat',
      doc: 'Without tiff.',
      symbols: ['jpeg', 'png', 'webp', 'gif', 'avif'],
    });
    expectIncompatible(reader, writer);
  });

  it('fails a renamed record (names are part of the contract)', () => {
    const writer = v1('ImageFailed');
    expectIncompatible({ ...writer, name: 'ImageFailure' }, writer);
  });

  it('passes a new nullable field with default null, in both directions', () => {
    const old = v1('ImageFailed');
    const next = withField(old, {
      name: 'retryAfterMs',
      type: ['null', 'long'],
      default: null,
      doc: 'Retry-After of the origin, when it sent one.',
    });
    expect(checkCompatibility(next as AvroSchema, old as AvroSchema)).toEqual({ compatible: true });
    expect(checkCompatibility(old as AvroSchema, next as AvroSchema)).toEqual({ compatible: true });
  });

  it('passes an int widened to long and a removed field (old readers skip it)', () => {
    const old = v1('ImageCompressed');
    expect(
      checkCompatibility(retyped(old, 'width', 'long') as AvroSchema, old as AvroSchema),
    ).toEqual({ compatible: true });
    const withoutUploadMs = { ...old, fields: old.fields.filter((f) => f.name !== 'uploadMs') };
    expect(checkCompatibility(withoutUploadMs as AvroSchema, old as AvroSchema)).toEqual({
      compatible: true,
    });
  });

  it('passes a failure code added by a newer writer: the FailureCode default lets old readers read it', () => {
    const old = v1('ImageFailed');
    const codeField = old.fields.find((f) => f.name === 'failureCode')!;
    const enumType = codeField.type as { symbols: string[] };
    const next = retyped(old, 'failureCode', {
      ...enumType,
      symbols: [...enumType.symbols, 'QUOTA_EXCEEDED'],
    });
    expect(checkCompatibility(old as AvroSchema, next as AvroSchema)).toEqual({ compatible: true });
  });
});

/**
 * A second version on disk, read by the real codec: shows that readers resolve every writer
 * version they know, and that the loader refuses a version the latest reader cannot read.
 */
describe('a v2 next to v1', () => {
  const dirs: string[] = [];
  const copyOfSchemas = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-avro-'));
    dirs.push(dir);
    fs.cpSync(avroSchemasDir, dir, { recursive: true });
    return dir;
  };
  const writeV2 = (dir: string, schema: RecordJson): string => {
    const file = path.join(dir, 'ImageFailed', 'v2.avsc');
    fs.writeFileSync(file, JSON.stringify(schema, null, 2));
    return file;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  /** ImageFailed v2: a new nullable field and a new failure code, both compatible changes. */
  const v2 = (): RecordJson => {
    const old = v1('ImageFailed');
    const codeField = old.fields.find((f) => f.name === 'failureCode')!;
    const enumType = codeField.type as { symbols: string[] };
    return withField(
      retyped(old, 'failureCode', {
        ...enumType,
        symbols: [...enumType.symbols, 'QUOTA_EXCEEDED'],
      }),
      { name: 'retryAfterMs', type: ['null', 'long'], default: null, doc: 'Retry-After.' },
    );
  };
  const registryWithV2 = () => {
    const dir = copyOfSchemas();
    writeV2(dir, v2());
    return loadSchemaRegistry(dir);
  };

  it('a v2 reader decodes what v1 writers wrote, filling new fields with their defaults', () => {
    const current = createCodec();
    const upgraded = createCodec(registryWithV2());
    const written = current.encode('ImageFailed', fixtures.ImageFailed);
    expect(upgraded.schemaId('ImageFailed')).not.toBe(current.schemaId('ImageFailed'));
    expect(upgraded.decode(written.value, written.headers)).toEqual({
      name: 'ImageFailed',
      value: { ...fixtures.ImageFailed, retryAfterMs: null },
    });
  });

  it('a v1 reader meets v2 bytes: unknown schema (dead-lettered, replayable), yet resolvable', () => {
    const current = createCodec();
    const withV2 = registryWithV2();
    const upgraded = createCodec(withV2);
    const newer = {
      ...fixture('ImageFailed'),
      failureCode: 'QUOTA_EXCEEDED',
      retryAfterMs: 30_000,
    };
    const written = upgraded.encode('ImageFailed', newer as never);
    expect(written.headers[SCHEMA_HEADER]).toBe(upgraded.schemaId('ImageFailed'));
    // A reader only resolves versions it ships with: v2 bytes reaching a v1-only reader are an
    // unknown schema, never a misread. Ship new versions to readers before writers use them.
    expect(thrown(() => current.decode(written.value, written.headers))).toMatchObject({
      code: 'ERR_DECODE_UNKNOWN_SCHEMA',
    });
    // And the change is forward compatible: the v1 reader type resolves v2 data, reading the
    // unknown code as the FailureCode default and skipping the new field.
    const old = registry.latest.ImageFailed.type;
    const read: unknown = old.fromBuffer(
      written.value,
      old.createResolver(withV2.latest.ImageFailed.type),
    );
    expect(read).toEqual({ ...fixtures.ImageFailed, failureCode: 'INTERNAL' });
  });

  it('the loader refuses a v2 that cannot read v1, naming both files', () => {
    const dir = copyOfSchemas();
    const file = writeV2(
      dir,
      withField(v1('ImageFailed'), { name: 'stage', type: 'string', doc: 'Stage.' }),
    );
    expect(() => loadSchemaRegistry(dir)).toThrow(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot read .*ImageFailed/v1\\.avsc`,
      ),
    );
  });

  it.each([
    [
      'a gap in versions',
      (dir: string) =>
        fs.renameSync(path.join(dir, 'Envelope', 'v1.avsc'), path.join(dir, 'Envelope', 'v2.avsc')),
      /versions must be v1\.\.vN without gaps/,
    ],
    [
      'a folder that is not an event',
      (dir: string) => fs.mkdirSync(path.join(dir, 'ImageExploded')),
      /ImageExploded is not an event/,
    ],
    [
      'a missing event',
      (dir: string) => fs.rmSync(path.join(dir, 'Envelope'), { recursive: true }),
      /no schema for Envelope/,
    ],
    [
      'a stray file',
      (dir: string) => fs.writeFileSync(path.join(dir, 'Envelope', 'notes.txt'), ''),
      /expected files named v<N>\.avsc/,
    ],
    [
      'a wrong record name',
      (dir: string) =>
        fs.writeFileSync(
          path.join(dir, 'Envelope', 'v1.avsc'),
          JSON.stringify({ ...v1('Envelope'), name: 'Letter' }),
        ),
      /record name is dev\.imgpipe\.events\.Letter, expected dev\.imgpipe\.events\.Envelope/,
    ],
    [
      'invalid JSON',
      (dir: string) => fs.writeFileSync(path.join(dir, 'Envelope', 'v1.avsc'), '{'),
      /Envelope\/v1\.avsc: /,
    ],
  ])('the loader refuses %s', (_case, breakIt, message) => {
    const dir = copyOfSchemas();
    breakIt(dir);
    expect(() => loadSchemaRegistry(dir)).toThrow(message);
  });
});
