/**
 * The notifier process: `npx tsx --conditions=development notifier/src/main.ts`.
 * The only file that reads process.env or installs signal handlers.
 */
import {
  createLogger,
  createRegistry,
  createShutdown,
  installProcessHandlers,
} from '@imgpipe/platform';
import { createNotifier } from './app';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger({
    service: 'notifier',
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
  });
  const notifier = createNotifier(config, { logger, registry: createRegistry('notifier') });
  const shutdown = createShutdown(logger);
  shutdown.add({ name: 'notifier', run: () => notifier.stop() });
  installProcessHandlers(shutdown, logger);
  try {
    await notifier.start();
  } catch (err) {
    logger.fatal({ err }, 'notifier failed to start');
    await shutdown.shutdown('start failed');
    logger.flush();
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  // Configuration errors end here, before a logger exists.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
