import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadMigrations, splitCql } from './migrations';

describe('CQL migrations', () => {
  it('splits statements on end-of-line semicolons and drops comments', () => {
    expect(
      splitCql(
        `-- header\nCREATE TABLE a (\n  id int PRIMARY KEY -- the key\n);\n\nCREATE TABLE b (id int PRIMARY KEY);\n`,
      ),
    ).toEqual(['CREATE TABLE a (\n  id int PRIMARY KEY\n)', 'CREATE TABLE b (id int PRIMARY KEY)']);
  });

  it('loads files in version order with a checksum, allowing gaps', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    writeFileSync(path.join(dir, '0003_later.cql'), 'CREATE TABLE c (id int PRIMARY KEY);');
    writeFileSync(path.join(dir, '0001_first.cql'), 'CREATE TABLE a (id int PRIMARY KEY);');
    const m = loadMigrations(dir);
    expect(m.map((x) => [x.version, x.name])).toEqual([
      [1, 'first'],
      [3, 'later'],
    ]);
    expect(m[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a badly named file and a duplicate version', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    writeFileSync(path.join(dir, '1_bad.cql'), 'x;');
    expect(() => loadMigrations(dir)).toThrow(/expected NNNN_name.cql/);
    const dup = mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    writeFileSync(path.join(dup, '0001_a.cql'), 'x;');
    writeFileSync(path.join(dup, '0001_b.cql'), 'y;');
    expect(() => loadMigrations(dup)).toThrow(/used twice/);
  });

  it('ships the imgpipe data model without counter columns', () => {
    const { cqlMigrationsDir } =
      jest.requireActual<typeof import('@imgpipe/schemas')>('@imgpipe/schemas');
    const all = loadMigrations(cqlMigrationsDir)
      .flatMap((m) => m.statements)
      .join('\n');
    expect(all).toMatch(/CREATE TABLE IF NOT EXISTS requests/);
    expect(all).not.toMatch(/\bcounter\b/i);
  });
});
