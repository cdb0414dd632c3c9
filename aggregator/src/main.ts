/**
 * Runs the aggregator: `npx tsx --conditions=development aggregator/src/main.ts`. The only file
 * that reads process.env or installs signal handlers (../shared/STYLE.md).
 */
import { createLogger, createShutdown, installProcessHandlers, migrate } from '@imgpipe/platform';
import { cqlMigrationsDir } from '@imgpipe/schemas';
import { createAggregator } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { env } = config;
  const logger = createLogger({
    service: 'aggregator',
    level: env.LOG_LEVEL,
    pretty: env.LOG_PRETTY,
  });
  const shutdown = createShutdown(logger);
  installProcessHandlers(shutdown, logger);

  if (env.MIGRATE_ON_START) {
    await migrate(env, { dir: cqlMigrationsDir, logger, owner: 'aggregator' });
  }

  const aggregator = createAggregator(config, { logger });
  shutdown.add({ name: 'aggregator', run: () => aggregator.stop() });
  shutdown.add({ name: 'logs', run: () => logger.flush() });
  const { port } = await aggregator.start();
  logger.info({ port, publicBaseUrl: env.PUBLIC_BASE_URL }, 'aggregator ready');
}

main().catch((err: unknown) => {
  // Config errors list every bad variable; print them plainly for the operator.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
