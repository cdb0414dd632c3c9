/**
 * The whole system for end-to-end tests: the four services as separate real processes (the
 * same launcher `npm start` uses) on the test engines, with their own topic namespace and
 * consumer groups so nothing another test produced reaches them.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { allTopics } from '@imgpipe/schemas';
import { createKafka, ensureTopics, silentLogger } from '@imgpipe/platform';
import {
  startService,
  stopService,
  waitServiceReady,
  type RunningService,
  type ServiceName,
  type ServiceSpec,
} from '../../../deploy/local/lib/services';
import { testEnv, uniqueName } from '../../support/env';

const repoDir = path.resolve(__dirname, '..', '..', '..');
export const artifactsDir = path.join(repoDir, 'artifacts', 'e2e');

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StackOptions {
  processors?: number;
  /** Extra env for every service (e.g. shorter retry delays). */
  env?: Record<string, string>;
}

export interface Stack {
  baseUrl: string;
  prefix: string;
  services: Map<string, RunningService>;
  /** SIGKILL (or another signal) one service by label, e.g. 'processor-1'. */
  kill(label: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped/killed service again with the same settings and waits until ready. */
  restart(label: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = testEnv();
  const prefix = `${uniqueName('e2e')}.`;
  const kafka = createKafka(env.kafka, silentLogger());
  await ensureTopics(
    kafka,
    allTopics().map((t) => ({
      ...t,
      name: `${prefix}${t.name}`,
      partitions: Math.min(t.partitions, 6),
    })),
  );

  const ports: Record<ServiceName, number> = {
    ingest: await freePort(),
    aggregator: await freePort(),
    notifier: await freePort(),
    processor: await freePort(),
  };
  const shared: Record<string, string> = {
    KAFKA_BROKERS: env.kafka.KAFKA_BROKERS.join(','),
    CASSANDRA_CONTACT_POINTS: env.cassandra.CASSANDRA_CONTACT_POINTS.join(','),
    CASSANDRA_LOCAL_DC: env.cassandra.CASSANDRA_LOCAL_DC,
    CASSANDRA_KEYSPACE: env.cassandra.CASSANDRA_KEYSPACE,
    S3_ENDPOINT: env.s3.S3_ENDPOINT,
    S3_BUCKET: env.s3.S3_BUCKET,
    S3_ACCESS_KEY_ID: env.s3.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: env.s3.S3_SECRET_ACCESS_KEY,
    PUBLIC_BASE_URL: `http://127.0.0.1:${ports.ingest}`,
    AGGREGATOR_URL: `http://127.0.0.1:${ports.aggregator}`,
    NOTIFIER_URL: `http://127.0.0.1:${ports.notifier}`,
    FETCH_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    KAFKA_TOPIC_PREFIX: prefix,
    AGGREGATOR_GROUP_ID: `${prefix}aggregator`,
    PROCESSOR_GROUP_ID: `${prefix}processor`,
    NOTIFIER_GROUP_ID: `${prefix}notifier`,
    IMAGE_RETRY_DELAYS_MS: '1000,2000,3000',
    WEBHOOK_RETRY_DELAYS_MS: '500,1000,2000',
    LOG_LEVEL: process.env.LOG_LEVEL || 'info',
    LOG_PRETTY: 'false',
    ...options.env,
  };

  const processors = options.processors ?? 1;
  const specs: ServiceSpec[] = [
    { label: 'aggregator', service: 'aggregator', port: ports.aggregator, env: shared },
    { label: 'notifier', service: 'notifier', port: ports.notifier, env: shared },
    ...Array.from({ length: processors }, (_, i) => ({
      label: `processor-${i + 1}`,
      service: 'processor' as const,
      port: i === 0 ? ports.processor : 0,
      env: shared,
    })),
    { label: 'ingest', service: 'ingest', port: ports.ingest, env: shared },
  ];
  for (const spec of specs) if (spec.port === 0) spec.port = await freePort();

  // Each service's log goes to artifacts/e2e/<prefix>/<label>.log for post-mortems.
  const logDir = path.join(artifactsDir, prefix.replace(/\.$/, ''));
  mkdirSync(logDir, { recursive: true });
  const logs = new Map<string, WriteStream>();
  const onLine = (spec: ServiceSpec, line: string) => {
    let stream = logs.get(spec.label);
    if (!stream) {
      stream = createWriteStream(path.join(logDir, `${spec.label}.log`), { flags: 'a' });
      logs.set(spec.label, stream);
    }
    stream.write(`${line}\n`);
  };

  const services = new Map<string, RunningService>();
  const launch = async (spec: ServiceSpec) => {
    const s = startService(repoDir, spec, onLine);
    services.set(spec.label, s);
    try {
      await waitServiceReady(s, 90_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last lines:\n${s.lastLines.join('\n')}`, {
        cause: err,
      });
    }
  };
  try {
    for (const spec of specs) await launch(spec);
  } catch (err) {
    await Promise.all([...services.values()].map((s) => stopService(s, 5_000)));
    throw err;
  }

  return {
    baseUrl: shared.PUBLIC_BASE_URL!,
    prefix,
    services,
    async kill(label, signal = 'SIGKILL') {
      const s = services.get(label);
      if (!s) throw new Error(`no service ${label}`);
      s.child.kill(signal);
      await s.exited;
    },
    async restart(label) {
      const s = services.get(label);
      if (!s) throw new Error(`no service ${label}`);
      await launch(s.spec);
    },
    async stop() {
      await Promise.all([...services.values()].map((s) => stopService(s, 20_000)));
      await Promise.all(
        [...logs.values()].map((l) => new Promise<void>((resolve) => l.end(resolve))),
      );
    },
  };
}
