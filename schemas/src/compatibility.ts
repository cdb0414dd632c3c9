/**
 * Schema evolution check with avsc's own resolution rules: can a reader on `reader` read what
 * a writer on `writer` wrote? The codec relies on exactly this to read older (and, during a
 * rolling deploy, newer) versions, so a change that fails here needs a new topic version.
 */
import type { Type } from 'avsc';
import { parseSchema, type AvroSchema } from './avro';

export type Compatibility = { compatible: true } | { compatible: false; reason: string };

const asType = (schema: AvroSchema | Type): Type =>
  typeof schema === 'object' && schema !== null && 'createResolver' in schema
    ? (schema as Type)
    : parseSchema(schema);

/** `compatible: false` with avsc's reason when `reader` cannot read data written with `writer`. */
export function checkCompatibility(
  reader: AvroSchema | Type,
  writer: AvroSchema | Type,
): Compatibility {
  try {
    asType(reader).createResolver(asType(writer));
    return { compatible: true };
  } catch (err) {
    return { compatible: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
