import type { Logger } from './logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

export interface ShutdownCoordinator {
  /** Steps run in the order added: readiness off, stop intake, flush producers, close clients, flush logs. */
  add(step: ShutdownStep): void;
  /** Runs every step once (later calls return the same promise), bounded by the deadline. */
  shutdown(reason: string): Promise<void>;
  readonly shuttingDown: boolean;
}

/**
 * Ordered graceful shutdown with a hard deadline: a step that hangs cannot keep the process
 * alive past `deadlineMs` (Kubernetes' terminationGracePeriodSeconds must exceed it).
 */
export function createShutdown(logger: Logger, deadlineMs = 25_000): ShutdownCoordinator {
  const steps: ShutdownStep[] = [];
  let running: Promise<void> | undefined;
  return {
    add: (step) => {
      steps.push(step);
    },
    get shuttingDown() {
      return running !== undefined;
    },
    shutdown(reason) {
      running ??= (async () => {
        logger.info({ reason }, 'shutting down');
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            logger.error({ deadlineMs }, 'shutdown deadline passed; exiting with steps unfinished');
            resolve();
          }, deadlineMs);
          timer.unref();
        });
        const all = (async () => {
          for (const step of steps) {
            const t0 = Date.now();
            try {
              await step.run();
              logger.debug({ step: step.name, ms: Date.now() - t0 }, 'shutdown step done');
            } catch (err) {
              logger.error({ err, step: step.name }, 'shutdown step failed');
            }
          }
        })();
        await Promise.race([all, deadline]);
        clearTimeout(timer);
      })();
      return running;
    },
  };
}

/**
 * For main.ts only: SIGTERM/SIGINT → graceful shutdown → exit 0; uncaught exception or
 * unhandled rejection → log fatal, shut down, exit 1.
 */
export function installProcessHandlers(coordinator: ShutdownCoordinator, logger: Logger): void {
  const exitAfter = (code: number) => (reason: string) => {
    void coordinator.shutdown(reason).finally(() => {
      logger.flush();
      process.exit(code);
    });
  };
  process.once('SIGTERM', () => exitAfter(0)('SIGTERM'));
  process.once('SIGINT', () => exitAfter(0)('SIGINT'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    exitAfter(1)('uncaughtException');
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    exitAfter(1)('unhandledRejection');
  });
}
