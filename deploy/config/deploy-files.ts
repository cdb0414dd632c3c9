/**
 * Readers for the deployment files the deploy tests check against the code: each service's
 * env schema, the README configuration table, docker-compose.yml and the Kubernetes base.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load, loadAll } from 'js-yaml';
import type { z } from 'zod';
import { aggregatorEnv } from '@imgpipe/aggregator';
import { ingestEnv } from '@imgpipe/ingest';
import { notifierEnv } from '@imgpipe/notifier';
import { processorEnv } from '@imgpipe/processor';

export const REPO = path.resolve(__dirname, '..', '..');

export type ServiceName = 'ingest' | 'processor' | 'aggregator' | 'notifier';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'ingest',
  'processor',
  'aggregator',
  'notifier',
];

/**
 * What each service reads: the zod object its config.ts parses process.env with (exported by
 * each package). Its shape keys ARE the env var names, platform's shared kafkaEnv/cassandraEnv/
 * s3Env/fetchAllowEnv included, so a variable added to any of them shows up here by itself.
 */
export const SERVICE_ENV: Record<ServiceName, z.ZodObject<Record<string, z.ZodType>>> = {
  ingest: ingestEnv,
  processor: processorEnv,
  aggregator: aggregatorEnv,
  notifier: notifierEnv,
};

export const envKeys = (service: ServiceName): string[] => Object.keys(SERVICE_ENV[service].shape);

export const readRepoFile = (rel: string): string => readFileSync(path.join(REPO, rel), 'utf8');

/** One row of the README configuration table. */
export interface ConfigRow {
  name: string;
  services: string[];
  defaultCell: string;
  meaning: string;
}

/** Rows of the table between `<!-- config:start -->` and `<!-- config:end -->`. */
export function readmeConfigRows(readme = readRepoFile('README.md')): ConfigRow[] {
  const start = readme.indexOf('<!-- config:start -->');
  const end = readme.indexOf('<!-- config:end -->');
  if (start < 0 || end < start) throw new Error('README.md: configuration markers not found');
  const rows: ConfigRow[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    const cells = splitRow(line);
    const name = /^`([A-Z][A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!name || cells.length !== 4) continue;
    const services = cells[1]!.trim() === 'all' ? [...SERVICE_NAMES] : cells[1]!.split(/,\s*/);
    rows.push({ name, services, defaultCell: cells[2]!, meaning: cells[3]! });
  }
  return rows;
}

/** Markdown table cells, with `\|` kept inside a cell. */
function splitRow(line: string): string[] {
  const t = line.trim();
  if (!t.startsWith('|') || !t.endsWith('|')) return [];
  return t
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** A default cell the test can check, or null for free text (a computed default). */
export type DocumentedDefault =
  | { kind: 'unset' }
  | { kind: 'empty' }
  | { kind: 'value'; value: string }
  | { kind: 'perService'; values: Partial<Record<string, string>> };

export function parseDefaultCell(cell: string): DocumentedDefault | null {
  if (cell === 'unset') return { kind: 'unset' };
  if (cell === 'empty') return { kind: 'empty' };
  const single = /^`([^`]*)`$/.exec(cell);
  if (single) return { kind: 'value', value: single[1]! };
  const pair = /^([a-z]+) `([^`]*)`$/;
  const parts = cell.split(/,\s*/);
  if (parts.every((p) => pair.test(p))) {
    const values: Partial<Record<string, string>> = {};
    for (const p of parts) {
      const [, service, value] = pair.exec(p)!;
      values[service!] = value!;
    }
    return { kind: 'perService', values };
  }
  return null;
}

/**
 * Compose's own interpolation with nothing set in the shell: `${VAR:-default}` and
 * `${VAR-default}` give the default, `${VAR}` gives '', `$$` is a literal `$`.
 */
export function interpolateCompose(value: string): string {
  return value.replace(/\$\$|\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (m, def?: string) =>
    m === '$$' ? '$' : (def ?? ''),
  );
}

type Yaml = Record<string, unknown>;
/** A YAML scalar as the container sees it (`KEY:` alone is an empty value). */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
const isRecord = (v: unknown): v is Yaml =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The environment of one compose service, merge keys resolved and values interpolated. */
export function composeEnvironment(
  compose: unknown,
  service: string,
): Record<string, string> | undefined {
  const services = isRecord(compose) && isRecord(compose.services) ? compose.services : {};
  const svc = services[service];
  if (!isRecord(svc)) return undefined;
  const env = svc.environment;
  const entries: [string, string][] = Array.isArray(env)
    ? env.map((e) => {
        const [k, ...v] = String(e).split('=');
        return [k!, v.join('=')];
      })
    : Object.entries(isRecord(env) ? env : {}).map(([k, v]) => [k, scalar(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolateCompose(v)]));
}

export const loadYaml = (rel: string): unknown => load(readRepoFile(rel));
export const loadYamlAll = (rel: string): unknown[] => loadAll(readRepoFile(rel));

/** KEY=VALUE lines as kustomize reads an `envs` file (comments and blank lines skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not KEY=VALUE: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
