import path from 'node:path';

/**
 * Where and on which ports a set of engines runs. `dev` is what `npm start` uses; `test` is
 * what the integration tests start when the env points at no running engines, on other ports,
 * so tests never touch a developer's data.
 */
export type ProfileName = 'dev' | 'test';

export interface Profile {
  readonly name: ProfileName;
  /** Repository root (deploy/local lives under it). */
  readonly repoDir: string;
  /** Jar cache shared by profiles: `<enginesDir>/lib/<engine>-<version>`. */
  readonly libDir: string;
  /** Data, logs, pid files and generated configs of this profile. */
  readonly stateDir: string;
  readonly ports: {
    readonly kafka: number;
    readonly kafkaController: number;
    readonly cassandra: number;
    readonly cassandraStorage: number;
    readonly cassandraJmx: number;
    readonly s3: number;
  };
  readonly heap: { readonly kafka: string; readonly cassandra: string; readonly s3: string };
  /** Wipe data before starting an engine that is not running (test runs start clean). */
  readonly fresh: boolean;
}

/** Env var that moves each port, named in every "port in use" error. */
export const PORT_ENV = {
  kafka: 'ENGINES_KAFKA_PORT',
  kafkaController: 'ENGINES_KAFKA_CONTROLLER_PORT',
  cassandra: 'ENGINES_CASSANDRA_PORT',
  cassandraStorage: 'ENGINES_CASSANDRA_STORAGE_PORT',
  cassandraJmx: 'ENGINES_CASSANDRA_JMX_PORT',
  s3: 'ENGINES_S3_PORT',
} as const;

const DEFAULT_PORTS: Record<ProfileName, Profile['ports']> = {
  dev: {
    kafka: 9092,
    kafkaController: 9093,
    cassandra: 9042,
    cassandraStorage: 7000,
    cassandraJmx: 7199,
    s3: 9000,
  },
  test: {
    kafka: 19092,
    kafkaController: 19093,
    cassandra: 19042,
    cassandraStorage: 17000,
    cassandraJmx: 17199,
    s3: 19000,
  },
};

export class ProfileError extends Error {
  readonly code = 'ERR_ENGINES_CONFIG';
}

function port(env: NodeJS.ProcessEnv, key: keyof Profile['ports'], def: number): number {
  const raw = env[PORT_ENV[key]];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ProfileError(`${PORT_ENV[key]}=${raw} is not a port number (1-65535)`);
  }
  return n;
}

export function resolveProfile(name: ProfileName, env: NodeJS.ProcessEnv = process.env): Profile {
  const repoDir = path.resolve(__dirname, '..', '..', '..');
  const enginesDir = path.resolve(env.IMGPIPE_ENGINES_DIR || path.join(repoDir, '.engines'));
  const d = DEFAULT_PORTS[name];
  return {
    name,
    repoDir,
    libDir: path.join(enginesDir, 'lib'),
    stateDir: path.join(enginesDir, name),
    ports: {
      kafka: port(env, 'kafka', d.kafka),
      kafkaController: port(env, 'kafkaController', d.kafkaController),
      cassandra: port(env, 'cassandra', d.cassandra),
      cassandraStorage: port(env, 'cassandraStorage', d.cassandraStorage),
      cassandraJmx: port(env, 'cassandraJmx', d.cassandraJmx),
      s3: port(env, 's3', d.s3),
    },
    heap: {
      kafka: env.ENGINES_KAFKA_HEAP || '512m',
      cassandra: env.ENGINES_CASSANDRA_HEAP || '768m',
      s3: env.ENGINES_S3_HEAP || '256m',
    },
    fresh: name === 'test',
  };
}

/** The env a service (or test) needs to reach this profile's engines. */
export function endpointsEnv(p: Profile): Record<string, string> {
  return {
    KAFKA_BROKERS: `127.0.0.1:${p.ports.kafka}`,
    CASSANDRA_CONTACT_POINTS: `127.0.0.1:${p.ports.cassandra}`,
    CASSANDRA_LOCAL_DC: 'datacenter1',
    S3_ENDPOINT: `http://127.0.0.1:${p.ports.s3}`,
    S3_ACCESS_KEY_ID: S3_LOCAL_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3_LOCAL_CREDENTIALS.secretAccessKey,
  };
}

/** S3Proxy checks AWS v4 signatures against these (the same defaults platform's config uses). */
export const S3_LOCAL_CREDENTIALS = {
  accessKeyId: 'imgpipe',
  secretAccessKey: 'imgpipe-local-secret',
};
