import { Kafka, logLevel, type KafkaConfig, type logCreator } from 'kafkajs';
import type { KafkaEnv } from '../config';
import type { Logger } from '../logger';

const toPino: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warnings that describe a deliberate choice, not a problem: the bus bounds the
 * idempotent producer's retries so a send fails instead of hanging while Kafka is down, and
 * replaces the producer after a failed send (see bus/producer.ts).
 */
const EXPECTED_WARNINGS = new Set([
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
]);

/** Routes kafkajs' own logs into the process's pino logger. */
export const pinoLogCreator =
  (logger: Logger): logCreator =>
  () =>
  ({ level, log }) => {
    const { message, ...extra } = log;
    const pinoLevel = EXPECTED_WARNINGS.has(message) ? 'debug' : (toPino[level] ?? 'info');
    logger[pinoLevel]({ kafkajs: extra }, message);
  };

/** The one way to build a kafkajs client (platform is the only kafkajs importer). */
export function createKafka(
  env: Pick<KafkaEnv, 'KAFKA_BROKERS'> & Partial<Pick<KafkaEnv, 'KAFKA_CLIENT_ID'>>,
  logger: Logger,
  overrides: Partial<KafkaConfig> = {},
): Kafka {
  return new Kafka({
    clientId: env.KAFKA_CLIENT_ID ?? 'imgpipe',
    brokers: env.KAFKA_BROKERS,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    ...overrides,
  });
}
