/**
 * Runs ingest: `npx tsx --conditions=development ingest/src/main.ts`. The only file that reads
 * process.env or installs signal handlers (../shared/STYLE.md).
 */
import { createLogger, createShutdown, installProcessHandlers, migrate } from '@imgpipe/platform';
import { cqlMigrationsDir } from '@imgpipe/schemas';
import { createIngest } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { env } = config;
  const logger = createLogger({ service: 'ingest', level: env.LOG_LEVEL, pretty: env.LOG_PRETTY });
  const shutdown = createShutdown(logger);
  installProcessHandlers(shutdown, logger);

  // ingest's Idempotency-Key table is a migration like any other (0002_ingest.cql); the
  // runner's lock makes concurrent starts of several services safe.
  if (env.MIGRATE_ON_START) await migrate(env, { dir: cqlMigrationsDir, logger, owner: 'ingest' });

  const ingest = createIngest(config, { logger });
  shutdown.add({ name: 'ingest', run: () => ingest.stop() });
  shutdown.add({ name: 'logs', run: () => logger.flush() });
  const { port } = await ingest.start();
  logger.info({ port, publicBaseUrl: env.PUBLIC_BASE_URL }, 'ingest ready');
}

main().catch((err: unknown) => {
  // Config errors list every bad variable; print them plainly for the operator.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
