/**
 * The migration runner against the real Cassandra node (issue 3: "two runners at once apply
 * each migration exactly once"). Every test uses a fresh random keyspace and a temp folder of
 * migrations written so that applying one twice would be visible (a CREATE TABLE without IF NOT
 * EXISTS fails the second time; an INSERT with a fresh uuid() adds a second row).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCassandraClient, migrate, silentLogger, type CassandraEnv } from '../../src';
import { testEnv, uniqueName } from '../../../test/support/env';

const env = testEnv();
const logger = silentLogger();

const MIGRATIONS: Record<string, string> = {
  '0001_log.cql': `
-- every later migration appends a row here: two rows for one version = applied twice
CREATE TABLE applied_log (id uuid PRIMARY KEY, version int);
INSERT INTO applied_log (id, version) VALUES (uuid(), 1);
`,
  '0002_items.cql': `
CREATE TABLE items (pk text, pos int, name text, PRIMARY KEY (pk, pos));
INSERT INTO applied_log (id, version) VALUES (uuid(), 2);
`,
  // A gap (0003 reserved by another branch) is allowed.
  '0004_items_size.cql': `
ALTER TABLE items ADD size bigint;
INSERT INTO applied_log (id, version) VALUES (uuid(), 4);
`,
};

describe('migrate (real Cassandra)', () => {
  const dirs: string[] = [];
  const keyspaces: string[] = [];
  const admin = createCassandraClient(env.cassandra, { withoutKeyspace: true });

  afterAll(async () => {
    for (const ks of keyspaces) {
      await admin.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    }
    await admin.shutdown();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const fresh = (): { cassandra: CassandraEnv; dir: string } => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imgpipe-migrations-'));
    dirs.push(dir);
    for (const [file, text] of Object.entries(MIGRATIONS)) {
      writeFileSync(path.join(dir, file), text);
    }
    const keyspace = uniqueName('mig');
    keyspaces.push(keyspace);
    return { cassandra: { ...env.cassandra, CASSANDRA_KEYSPACE: keyspace }, dir };
  };

  const rows = async (ks: string, cql: string) =>
    (await admin.execute(cql.replace('$ks', ks), [], { prepare: false })).rows;

  it('applies each migration exactly once when two runners start together', async () => {
    const { cassandra, dir } = fresh();
    const ks = cassandra.CASSANDRA_KEYSPACE;

    // Two runners, each with its own client and owner id, started in the same tick.
    const [a, b] = await Promise.all([
      migrate(cassandra, { dir, logger, owner: 'runner-a' }),
      migrate(cassandra, { dir, logger, owner: 'runner-b' }),
    ]);

    // Every version applied by exactly one of them.
    expect([...a.applied, ...b.applied].sort()).toEqual([1, 2, 4]);

    const recorded = await rows(ks, 'SELECT version, name, applied_by FROM $ks.schema_migrations');
    expect(recorded.map((r) => r.get('version') as number).sort()).toEqual([1, 2, 4]);
    for (const r of recorded) {
      const by = r.get('applied_by') as string;
      const version = r.get('version') as number;
      expect((by === 'runner-a' ? a : b).applied).toContain(version);
    }

    // The side-effects ran once per version.
    const log = await rows(ks, 'SELECT version FROM $ks.applied_log');
    expect(log.map((r) => r.get('version') as number).sort()).toEqual([1, 2, 4]);

    // The schema is the one the files describe.
    const columns = await rows(
      ks,
      `SELECT column_name FROM system_schema.columns WHERE keyspace_name = '$ks' AND table_name = 'items'`,
    );
    expect(columns.map((r) => r.get('column_name') as string).sort()).toEqual([
      'name',
      'pk',
      'pos',
      'size',
    ]);

    // The lock was released (a crashed holder would free it by TTL instead).
    expect(await rows(ks, 'SELECT owner FROM $ks.schema_migration_lock')).toHaveLength(0);

    // A later start applies nothing.
    await expect(migrate(cassandra, { dir, logger })).resolves.toEqual({ applied: [] });
  });

  it('applies only the new file on a later start, and refuses an edited, already applied file', async () => {
    const { cassandra, dir } = fresh();
    const ks = cassandra.CASSANDRA_KEYSPACE;
    rmSync(path.join(dir, '0004_items_size.cql'));
    await expect(migrate(cassandra, { dir, logger })).resolves.toEqual({ applied: [1, 2] });

    writeFileSync(path.join(dir, '0004_items_size.cql'), MIGRATIONS['0004_items_size.cql']!);
    await expect(migrate(cassandra, { dir, logger })).resolves.toEqual({ applied: [4] });

    writeFileSync(
      path.join(dir, '0002_items.cql'),
      `${MIGRATIONS['0002_items.cql']!}\n-- edited after it ran\n`,
    );
    const refused = migrate(cassandra, { dir, logger });
    await expect(refused).rejects.toMatchObject({ code: 'ERR_MIGRATION_CHANGED' });
    await expect(refused).rejects.toThrow(/2_items was changed after it was applied/);
    const log = await rows(ks, 'SELECT version FROM $ks.applied_log');
    expect(log.map((r) => r.get('version') as number).sort()).toEqual([1, 2, 4]);
  });
});
