/**
 * A real processor process for the crash test: main.ts's composition (env config, pino,
 * graceful SIGTERM) with the test's private topics, which main.ts has no setting for.
 * Prints one line `ready <port>` on stdout once consuming.
 */
import { createLogger, createShutdown, installProcessHandlers } from '@imgpipe/platform';
import { createProcessor, type ProcessorTopics } from '../../../src/app';
import { loadConfig } from '../../../src/config';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const topics = JSON.parse(process.env.IT_PROCESSOR_TOPICS ?? '') as ProcessorTopics;
  const logger = createLogger({ service: 'processor', level: config.LOG_LEVEL });
  const processor = createProcessor(config, { logger, topics });
  const shutdown = createShutdown(logger, config.SHUTDOWN_GRACE_MS + 10_000);
  shutdown.add({ name: 'processor', run: () => processor.stop() });
  installProcessHandlers(shutdown, logger);
  await processor.start();
  process.stdout.write(`ready ${processor.port()}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
