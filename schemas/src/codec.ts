/**
 * Avro codec of the events. Every message carries the `imgpipe-schema` header naming its
 * writer schema (record name + fingerprint); a reader resolves any version it knows into the
 * latest one, so a rolling deploy can mix old and new producers. Anything it cannot read is a
 * DecodeError with a stable code — never a crash, never a silently dropped message: the bus
 * dead-letters it.
 */
import { Type, types } from 'avsc';
import { DecodeError, EncodeError } from './errors';
import type { AnyEvent, EventMap, EventName } from './events';
import { loadSchemaRegistry, type SchemaRegistry } from './avro';

/** Header naming the writer schema of a message value: `<full record name>@<sha256 hex>`. */
export const SCHEMA_HEADER = 'imgpipe-schema';

export interface EncodedEvent {
  value: Buffer;
  /** `{ 'imgpipe-schema': ... }`; a fresh object the caller may add headers to. */
  headers: Record<string, string>;
}

/** Header values as Kafka clients hand them over (kafkajs: string, Buffer or an array). */
export type HeaderValue = string | Buffer | readonly (string | Buffer)[] | undefined;
export type MessageHeaders = Readonly<Record<string, HeaderValue>>;

export interface EventCodec {
  /** Encodes with the event's latest schema; throws EncodeError naming every invalid field. */
  encode<K extends EventName>(name: K, value: EventMap[K]): EncodedEvent;
  /** Decodes into the latest schema of the event the header names; throws DecodeError. */
  decode(value: Buffer | null, headers: MessageHeaders | undefined): AnyEvent;
  /** The header value this codec writes for an event. */
  schemaId(name: EventName): string;
}

/** One invalid spot of a value being encoded. */
export interface EncodeIssue {
  /** Field path, dot-separated (`options.quality`); `(value)` for the value itself. */
  path: string;
  /** What the schema expects there. */
  expected: string;
  /** The offending value, shortened (secrets are never shown). */
  got: string;
}

const describeType = (type: Type): string => {
  if (type instanceof types.LogicalType) {
    return type.typeName === 'logical:uuid' ? 'a UUID string' : describeType(type.underlyingType);
  }
  if (type instanceof types.UnwrappedUnionType || type instanceof types.WrappedUnionType) {
    return type.types.map(describeType).join(' or ');
  }
  if (type instanceof types.EnumType) {
    return `one of ${type.symbols.join('|')}`;
  }
  if (type instanceof types.RecordType) {
    return `a ${String(type.name)} record`;
  }
  if (type instanceof types.MapType) {
    return `an object of ${describeType(type.valuesType as Type)} values`;
  }
  if (type instanceof types.ArrayType) {
    return `an array of ${describeType(type.itemsType)} items`;
  }
  switch (type.typeName) {
    case 'int':
      return 'a 32-bit integer';
    case 'long':
      return 'a safe integer';
    case 'bytes':
      return 'a Buffer';
    case 'null':
      return 'null';
    default:
      return `a ${type.typeName}`;
  }
};

const showValue = (path: readonly string[], value: unknown): string => {
  if (path.some((segment) => /secret/i.test(segment))) {
    return '<redacted>';
  }
  if (value === undefined) {
    return 'undefined (missing)';
  }
  if (Buffer.isBuffer(value)) {
    return `<Buffer ${value.length} bytes>`;
  }
  let shown: string | undefined;
  try {
    shown = JSON.stringify(value);
  } catch {
    // Circular or BigInt: the type is still worth showing.
  }
  shown ??= `<${typeof value}>`;
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
};

/** Every invalid spot of `value` for `type` (empty when valid). */
export function validationIssues(type: Type, value: unknown): EncodeIssue[] {
  const issues: EncodeIssue[] = [];
  type.isValid(value, {
    errorHook: (path, got, at) => {
      issues.push({
        path: path.length === 0 ? '(value)' : path.join('.'),
        expected: describeType(at),
        got: showValue(path, got),
      });
    },
  });
  return issues;
}

const headerText = (raw: HeaderValue): string | undefined => {
  const first = Array.isArray(raw)
    ? (raw as readonly (string | Buffer)[])[0]
    : (raw as string | Buffer | undefined);
  if (first === undefined) {
    return undefined;
  }
  return typeof first === 'string' ? first : first.toString('utf8');
};

/** A codec over one set of schemas (the default: schemas/avro). Tests build their own. */
export function createCodec(registry: SchemaRegistry = loadSchemaRegistry()): EventCodec {
  const schemaIdOf = (name: EventName): string => {
    const latest = registry.latest[name] as SchemaRegistry['latest'][EventName] | undefined;
    if (latest === undefined) {
      throw new EncodeError(
        'ERR_ENCODE_UNKNOWN_EVENT',
        `No schema for event ${JSON.stringify(name)}`,
        {
          details: { event: name },
        },
      );
    }
    return latest.id;
  };

  return {
    schemaId: schemaIdOf,

    encode<K extends EventName>(name: K, value: EventMap[K]): EncodedEvent {
      const id = schemaIdOf(name);
      const { type } = registry.latest[name];
      let bytes: Buffer;
      try {
        // avsc checks every value as it writes, so the valid path is one pass; the slower
        // isValid walk only runs to explain a failure.
        bytes = type.toBuffer(value);
      } catch (err) {
        const issues = validationIssues(type, value);
        const explained =
          issues.length > 0
            ? issues.map((i) => `${i.path}: expected ${i.expected}, got ${i.got}`).join('; ')
            : err instanceof Error
              ? err.message
              : String(err);
        throw new EncodeError('ERR_ENCODE_INVALID', `Cannot encode ${name}: ${explained}`, {
          details: { event: name, issues },
          cause: err,
        });
      }
      return { value: bytes, headers: { [SCHEMA_HEADER]: id } };
    },

    decode(value: Buffer | null, headers: MessageHeaders | undefined): AnyEvent {
      const id = headerText(headers?.[SCHEMA_HEADER]);
      if (id === undefined || id === '') {
        throw new DecodeError(
          'ERR_DECODE_MISSING_SCHEMA',
          `Message has no ${SCHEMA_HEADER} header: its schema is unknown`,
        );
      }
      const known = registry.readers.get(id);
      if (known === undefined) {
        throw new DecodeError(
          'ERR_DECODE_UNKNOWN_SCHEMA',
          `Unknown writer schema ${JSON.stringify(id)}`,
          {
            details: { schema: id },
          },
        );
      }
      if (value === null) {
        throw new DecodeError('ERR_DECODE_BYTES', `Message written as ${id} has no value`, {
          details: { schema: id, event: known.event },
        });
      }
      let decoded: unknown;
      try {
        decoded = known.reader.fromBuffer(value, known.resolver);
      } catch (err) {
        throw new DecodeError(
          'ERR_DECODE_BYTES',
          `Cannot decode ${value.length} bytes as ${id}: ${err instanceof Error ? err.message : String(err)}`,
          { details: { schema: id, event: known.event, bytes: value.length }, cause: err },
        );
      }
      return { name: known.event, value: decoded } as AnyEvent;
    },
  };
}

let defaultCodec: EventCodec | undefined;
// Loaded on first use, not at import: importing the package must not touch the disk.
const codec = (): EventCodec => (defaultCodec ??= createCodec());

/**
 * Encodes an event with its latest schema: `value` goes in the Kafka message value, `headers`
 * in its headers. Throws EncodeError (`ERR_ENCODE_INVALID`) naming every invalid field path.
 */
export function encodeEvent<K extends EventName>(name: K, value: EventMap[K]): EncodedEvent {
  return codec().encode(name, value);
}

/**
 * Decodes a message value written by any known version of any event into the latest shape.
 * Throws DecodeError (`ERR_DECODE_MISSING_SCHEMA`, `ERR_DECODE_UNKNOWN_SCHEMA`,
 * `ERR_DECODE_BYTES`; never retriable) for anything it cannot read.
 */
export function decodeEvent(value: Buffer | null, headers: MessageHeaders | undefined): AnyEvent {
  return codec().decode(value, headers);
}

/** The `imgpipe-schema` header value written for an event (its latest schema). */
export function schemaIdFor(name: EventName): string {
  return codec().schemaId(name);
}
