import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCassandraClient } from './cassandra';
import type { CassandraEnv } from './config';
import { ImgpipeError } from './errors';
import type { Logger } from './logger';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.cql$/;

/** Splits a CQL file into statements: `--` comments dropped, `;` at end of line ends one. */
export function splitCql(text: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/--.*$/, '').trimEnd();
    if (!line.trim()) continue;
    if (line.endsWith(';')) {
      current.push(line.slice(0, -1));
      statements.push(current.join('\n').trim());
      current = [];
    } else current.push(line);
  }
  if (current.join('').trim()) statements.push(current.join('\n').trim());
  return statements.filter(Boolean);
}

/**
 * Reads `NNNN_name.cql` files in version order. Versions must be unique; gaps are allowed so
 * that work on separate branches can reserve numbers without renumbering each other's files.
 */
export function loadMigrations(dir: string): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cql'))
    .sort();
  let previous = 0;
  return files.map((file) => {
    const match = FILE.exec(file);
    if (!match) throw new ImgpipeError('ERR_MIGRATION_NAME', `${file}: expected NNNN_name.cql`);
    const version = Number(match[1]);
    if (version <= previous) {
      throw new ImgpipeError('ERR_MIGRATION_ORDER', `${file}: version ${version} is used twice`);
    }
    previous = version;
    const text = readFileSync(path.join(dir, file), 'utf8');
    return {
      version,
      name: match[2]!,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: splitCql(text),
    };
  });
}

export interface MigrateOptions {
  dir: string;
  logger: Logger;
  /** Who holds the lock (for operators reading the lock table). */
  owner?: string;
  lockTtlSeconds?: number;
  lockWaitMs?: number;
}

/**
 * Creates the keyspace and applies every migration not yet recorded, exactly once even when
 * several processes start together: a lightweight-transaction lock (`IF NOT EXISTS ... USING
 * TTL`, so a crashed holder frees it) serialises runners, and each applied version is
 * recorded with its checksum (an edited, already applied file is refused).
 */
export async function migrate(
  env: CassandraEnv,
  options: MigrateOptions,
): Promise<{ applied: number[] }> {
  const migrations = loadMigrations(options.dir);
  const ks = env.CASSANDRA_KEYSPACE;
  const owner = options.owner ?? `${process.pid}-${randomUUID()}`;
  const ttl = options.lockTtlSeconds ?? 120;
  const client = createCassandraClient(env, { withoutKeyspace: true, readTimeoutMs: 30_000 });
  const ddl = { prepare: false };
  try {
    await client.connect();
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${env.CASSANDRA_REPLICATION}`,
      [],
      ddl,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${ks}.schema_migrations (version int PRIMARY KEY, name text, checksum text, applied_at timestamp, applied_by text)`,
      [],
      ddl,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${ks}.schema_migration_lock (name text PRIMARY KEY, owner text, acquired_at timestamp)`,
      [],
      ddl,
    );
    await client.execute(`USE ${ks}`, [], ddl);

    const deadline = Date.now() + (options.lockWaitMs ?? 180_000);
    for (;;) {
      const lock = await client.execute(
        `INSERT INTO schema_migration_lock (name, owner, acquired_at) VALUES ('migrations', ?, toTimestamp(now())) IF NOT EXISTS USING TTL ${ttl}`,
        [owner],
      );
      if (lock.wasApplied()) break;
      if (Date.now() > deadline) {
        throw new ImgpipeError(
          'ERR_MIGRATION_LOCK',
          `Migration lock held by ${String(lock.first()?.get('owner'))} for too long`,
          {
            retriable: true,
          },
        );
      }
      await sleep(250);
    }

    const applied: number[] = [];
    try {
      const done = new Map<number, string>();
      for (const row of (await client.execute('SELECT version, checksum FROM schema_migrations'))
        .rows) {
        done.set(row.get('version') as number, row.get('checksum') as string);
      }
      for (const m of migrations) {
        const recorded = done.get(m.version);
        if (recorded !== undefined) {
          if (recorded !== m.checksum) {
            throw new ImgpipeError(
              'ERR_MIGRATION_CHANGED',
              `Migration ${m.version}_${m.name} was changed after it was applied; add a new migration instead`,
            );
          }
          continue;
        }
        for (const statement of m.statements) await client.execute(statement, [], ddl);
        await client.execute(
          'INSERT INTO schema_migrations (version, name, checksum, applied_at, applied_by) VALUES (?, ?, ?, toTimestamp(now()), ?)',
          [m.version, m.name, m.checksum, owner],
        );
        applied.push(m.version);
        options.logger.info({ version: m.version, name: m.name }, 'migration applied');
      }
    } finally {
      await client.execute(
        "DELETE FROM schema_migration_lock WHERE name = 'migrations' IF owner = ?",
        [owner],
      );
    }
    return { applied };
  } finally {
    await client.shutdown();
  }
}
