/**
 * The processor process: `npx tsx --conditions=development processor/src/main.ts`.
 * The only file that reads process.env or installs signal handlers.
 */
import {
  ConfigError,
  createLogger,
  createShutdown,
  installProcessHandlers,
} from '@imgpipe/platform';
import { createProcessor } from './app';
import { loadConfig } from './config';

function main(): void {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  // sharp's work runs on libuv's pool (default 4 threads), which DNS lookups share: room for
  // every image in flight (a PNG encodes two candidates at once) plus lookups, so a lookup
  // never queues behind compressions. Must be set before the pool's first use.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, 2 * config.PROCESSOR_CONCURRENCY + 2));

  const logger = createLogger({
    service: 'processor',
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
  });
  const processor = createProcessor(config, { logger });
  // The grace period for in-flight images, plus time to flush and close.
  const shutdown = createShutdown(logger, config.SHUTDOWN_GRACE_MS + 10_000);
  shutdown.add({ name: 'processor', run: () => processor.stop() });
  installProcessHandlers(shutdown, logger);

  processor.start().catch((err: unknown) => {
    logger.fatal({ err }, 'processor failed to start');
    void shutdown.shutdown('start failed').finally(() => {
      logger.flush();
      process.exit(1);
    });
  });
}

main();
