/**
 * Every env var a service reads is documented in the README's configuration table and set for
 * that service in docker-compose.yml (issue 8, "Deploy").
 *
 * "What a service reads" comes from the code: each package exports the zod object its
 * config.ts parses process.env with, and the object's shape keys are the variable names
 * (platform's shared kafka/cassandra/s3/fetch-allow schemas included). Importing the schema
 * rather than scanning config.ts for capitalised words means spreads, `.extend()` of shared
 * schemas and renames are all seen exactly as the service sees them at start.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseEnv } from '@imgpipe/platform';
import {
  SERVICE_ENV,
  SERVICE_NAMES,
  composeEnvironment,
  envKeys,
  interpolateCompose,
  loadYaml,
  parseDefaultCell,
  readmeConfigRows,
  type ServiceName,
} from './deploy-files';

const rows = readmeConfigRows();
const byName = new Map(rows.map((r) => [r.name, r]));
const readers = new Map<string, ServiceName[]>();
for (const service of SERVICE_NAMES) {
  for (const key of envKeys(service)) readers.set(key, [...(readers.get(key) ?? []), service]);
}

/** The default the service really applies when the variable is unset (after transforms). */
function actualDefault(service: ServiceName, key: string): { ok: boolean; value: unknown } {
  const r = SERVICE_ENV[service].shape[key]!.safeParse(undefined);
  return { ok: r.success, value: r.data };
}

describe('README configuration table', () => {
  it('has the table, one row per variable', () => {
    expect(rows.length).toBeGreaterThan(0);
    const duplicates = rows.filter((r, i) => rows.findIndex((o) => o.name === r.name) !== i);
    expect(duplicates.map((r) => r.name)).toEqual([]);
  });

  it.each(SERVICE_NAMES)(
    'documents every variable %s reads, with the service named in its row',
    (service) => {
      const problems = envKeys(service).flatMap((key) => {
        const row = byName.get(key);
        if (!row) return [`${key}: no row in the README configuration table`];
        return row.services.includes(service) ? [] : [`${key}: row does not list ${service}`];
      });
      expect(problems).toEqual([]);
    },
  );

  it('lists exactly the services that read each variable, and no variable nobody reads', () => {
    const problems = rows.flatMap((row) => {
      const actual = readers.get(row.name);
      if (!actual) return [`${row.name}: documented, but no service reads it`];
      const documented = [...row.services].sort();
      return isDeepStrictEqual(documented, [...actual].sort())
        ? []
        : [`${row.name}: documented for ${documented.join(', ')}; read by ${actual.join(', ')}`];
    });
    expect(problems).toEqual([]);
  });

  it('states the default each service really applies, and what the variable means', () => {
    const problems = rows.flatMap((row) => {
      const out: string[] = [];
      if (row.meaning.length < 10) out.push(`${row.name}: meaning missing`);
      const documented = parseDefaultCell(row.defaultCell);
      if (!documented) return out; // free text: a computed default, e.g. "one per CPU core"
      for (const service of readers.get(row.name) ?? []) {
        const field = SERVICE_ENV[service].shape[row.name]!;
        const actual = actualDefault(service, row.name);
        const where = `${row.name} (${service})`;
        if (documented.kind === 'unset') {
          if (!actual.ok || actual.value !== undefined) out.push(`${where}: has a default`);
        } else if (documented.kind === 'empty') {
          const empty =
            actual.value === '' || (Array.isArray(actual.value) && actual.value.length === 0);
          if (!empty) out.push(`${where}: default is ${JSON.stringify(actual.value)}, not empty`);
        } else {
          const text = documented.kind === 'value' ? documented.value : documented.values[service];
          if (text === undefined) {
            out.push(`${where}: default cell names no value for ${service}`);
            continue;
          }
          const parsed = field.safeParse(text);
          if (!parsed.success || !isDeepStrictEqual(parsed.data, actual.value)) {
            out.push(
              `${where}: README says ${JSON.stringify(text)}, code defaults to ${JSON.stringify(actual.value)}`,
            );
          }
        }
      }
      return out;
    });
    expect(problems).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const compose = loadYaml('docker-compose.yml');

  it.each(SERVICE_NAMES)('sets every variable %s reads, and only those', (service) => {
    const env = composeEnvironment(compose, service);
    expect(env).toBeDefined();
    const keys = envKeys(service);
    const missing = keys.filter((k) => !(k in env!));
    const unknown = Object.keys(env!).filter((k) => !keys.includes(k));
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it.each(SERVICE_NAMES)('gives %s values its own config loader accepts', (service) => {
    const env = composeEnvironment(compose, service)!;
    expect(() => parseEnv(SERVICE_ENV[service], env)).not.toThrow();
  });

  it('interpolates like compose with nothing set in the shell', () => {
    expect(interpolateCompose('${A:-x,y}')).toBe('x,y');
    expect(interpolateCompose('${A-z}')).toBe('z');
    expect(interpolateCompose('${A}')).toBe('');
    expect(interpolateCompose('$${A}')).toBe('${A}');
  });
});
