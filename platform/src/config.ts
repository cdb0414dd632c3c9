import { z } from 'zod';
import { ImgpipeError } from './errors';

/**
 * Env → typed, frozen config. All problems are reported at once, one line per variable,
 * so an operator fixes the deployment in one go instead of one restart per typo.
 */
export class ConfigError extends ImgpipeError {
  constructor(readonly problems: readonly string[]) {
    super('ERR_CONFIG', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses `env` with a zod object whose keys are env var names. */
export function parseEnv<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: Env,
): Readonly<z.infer<S>> {
  // Empty strings mean "unset": that is how compose files and shells usually spell it.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = issue.path.join('.') || '(env)';
        const value = cleaned[key];
        return `${key}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
      }),
    );
  }
  return Object.freeze(result.data);
}

/** Reusable env field parsers. */
export const envField = {
  port: (def: number) => z.coerce.number().int().min(0).max(65535).default(def),
  int: (def: number, min = 0) => z.coerce.number().int().min(min).default(def),
  positiveMs: (def: number) => z.coerce.number().int().positive().default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
  logLevel: () =>
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** Connection settings every service shares. Defaults match the local stack (deploy/local). */
export const kafkaEnv = z.object({
  KAFKA_BROKERS: envField
    .list('127.0.0.1:9092')
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().optional(),
  /**
   * Prepended to every catalogue topic name (see topicCatalogue in @imgpipe/schemas): for a
   * cluster shared by several environments, and for tests that run a private pipeline.
   * Empty in a normal deployment.
   */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
    .default(''),
});

export const cassandraEnv = z.object({
  CASSANDRA_CONTACT_POINTS: envField.list('127.0.0.1:9042').pipe(z.array(z.string()).min(1)),
  CASSANDRA_LOCAL_DC: z.string().default('datacenter1'),
  CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case CQL identifier')
    .default('imgpipe'),
  /** Replication used only when the migration runner creates the keyspace. */
  CASSANDRA_REPLICATION: z.string().default("{'class': 'SimpleStrategy', 'replication_factor': 1}"),
  CASSANDRA_USERNAME: z.string().optional(),
  CASSANDRA_PASSWORD: z.string().optional(),
});

export const s3Env = z.object({
  S3_ENDPOINT: z.url().default('http://127.0.0.1:9000'),
  S3_REGION: z.string().default('us-east-1'),
  S3_BUCKET: z.string().min(3).default('imgpipe'),
  S3_ACCESS_KEY_ID: z.string().default('imgpipe'),
  S3_SECRET_ACCESS_KEY: z.string().default('imgpipe-local-secret'),
  S3_FORCE_PATH_STYLE: envField.bool(true),
});

export type KafkaEnv = z.infer<typeof kafkaEnv>;
export type CassandraEnv = z.infer<typeof cassandraEnv>;
export type S3Env = z.infer<typeof s3Env>;
