import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Pretty output for people at a terminal; JSON otherwise (log shippers). */
  pretty?: boolean;
}

/**
 * One root logger per process; components take `logger.child({ component })` and
 * handlers `child({ requestId, topic, partition, offset })`. Secrets are redacted by path.
 */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.service,
    level: config.level ?? 'info',
    base: { service: config.service },
    redact: {
      paths: [
        '*.secret',
        '*.webhook_secret',
        '*.webhookSecret',
        '*.password',
        '*.secretAccessKey',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  };
  if (config.pretty) {
    return pino(
      options,
      pino.transport({
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      }),
    );
  }
  return pino(options);
}

/** A logger that writes nothing: the default in tests unless LOG_LEVEL is set. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
