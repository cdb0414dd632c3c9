/**
 * docs/failure-codes.md documents every code a user or operator can meet: every per-image
 * FAILURE_CODES entry (in its own section) and every `ERR_…` code the services, platform and
 * schemas use, collected from the sources (test/support/error-codes.ts), not from a hand-kept
 * list, so a new code without documentation fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FAILURE_CODES } from '@imgpipe/schemas';
import { errorCodesIn, repoDir, sourceFiles } from '../../test/support/error-codes';

const doc = readFileSync(path.join(repoDir, 'docs', 'failure-codes.md'), 'utf8');

/** Where codes are defined: the runtime packages (the CLI's own usage codes are its business). */
const PACKAGES = ['schemas', 'platform', 'ingest', 'processor', 'aggregator', 'notifier'];

/**
 * `ERR_` literals that are not codes, each with why. Kept honest below: an entry that no longer
 * occurs in the code fails the test.
 */
const NOT_CODES: Readonly<Record<string, string>> = {
  ERR_ENCODE: 'a prefix: ingest checks errorCode(err)?.startsWith("ERR_ENCODE")',
};

const found = PACKAGES.flatMap((pkg) => sourceFiles(path.join(pkg, 'src'))).map((file) => ({
  file,
  ...errorCodesIn(file),
}));
const allCodes = new Set(found.flatMap((f) => [...f.codes]));
const allPrefixes = new Set(found.flatMap((f) => [...f.prefixes]));

/** The text of one `## ` section of the page. */
const section = (title: string): string => {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) return '';
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
};

describe('docs/failure-codes.md', () => {
  it('finds the codes it is meant to check (the scan works)', () => {
    for (const known of [
      'ERR_CSV_INVALID',
      'ERR_REQUEST_NOT_DONE',
      'ERR_WEBHOOK_URL',
      'ERR_CONFIG',
    ]) {
      expect(allCodes).toContain(known);
    }
    expect(allPrefixes).toContain('ERR_HTTP_');
  });

  it('documents every per-image failure code in its table', () => {
    const table = section('Per-image failure codes');
    const missing = FAILURE_CODES.filter((code) => !table.includes(`| \`${code}\` `));
    expect(missing).toEqual([]);
  });

  it('documents every ERR_ code used by the services, platform and schemas', () => {
    const missing = found.flatMap(({ file, codes }) =>
      [...codes]
        .filter((code) => !(code in NOT_CODES) && !doc.includes(`\`${code}\``))
        .map((code) => `${code} (${file})`),
    );
    expect([...new Set(missing)].sort()).toEqual([]);
  });

  it('documents every code built from a template, by its prefix', () => {
    const missing = [...allPrefixes].filter((prefix) => !doc.includes(`\`${prefix}<`));
    expect(missing).toEqual([]);
  });

  it('lists as "not a code" only literals that still occur', () => {
    expect(Object.keys(NOT_CODES).filter((literal) => !allCodes.has(literal))).toEqual([]);
  });

  it('documents no code that no longer exists', () => {
    const documented = [...doc.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const stale = documented.filter(
      (code) => !allCodes.has(code) && ![...allPrefixes].some((p) => code.startsWith(p)),
    );
    expect([...new Set(stale)]).toEqual([]);
  });
});
