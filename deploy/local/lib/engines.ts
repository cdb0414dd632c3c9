import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import {
  createCassandraClient,
  createKafka,
  createS3Client,
  silentLogger,
} from '@imgpipe/platform';
import type { Profile } from './profile';
import { PORT_ENV, S3_LOCAL_CREDENTIALS, endpointsEnv } from './profile';
import { LauncherError, checkMaven } from './process';

/** One engine: how to get its jars, write its config, start it and tell that it is ready. */
export interface Engine {
  readonly name: 'kafka' | 'cassandra' | 's3proxy';
  readonly title: string;
  /** Ports it binds, each with the env var that moves it. */
  ports(p: Profile): { port: number; env: string }[];
  /** Writes config into the engine's state dir and returns the java arguments (after the marker). */
  prepare(p: Profile, dir: string, lib: string): string[];
  /** Resolves only when the engine really answers (a metadata fetch, a CQL query, ListBuckets). */
  probe(p: Profile): Promise<void>;
  readonly readyTimeoutMs: number;
}

const here = (...parts: string[]) => path.resolve(__dirname, '..', ...parts);

/**
 * Resolves an engine's runtime jars with Maven into the cache (`<libDir>/<engine>-<pom hash>`),
 * once: a marker records the pom's hash, so editing a version in pom.xml resolves again.
 * Maven's own ~/.m2 cache makes a re-resolve after `rm -rf .engines` offline.
 */
export function resolveJars(
  p: Profile,
  engine: Engine['name'],
  log: (line: string) => void,
): string {
  const pom = here(engine, 'pom.xml');
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const lib = path.join(p.libDir, `${engine}-${hash}`);
  const marker = path.join(lib, '.resolved');
  if (existsSync(marker)) return lib;
  checkMaven();
  log(`resolving ${engine} jars from Maven Central (first run only)…`);
  const r = spawnSync('mvn', ['-B', '-q', '-f', pom, 'package', `-Dlib.dir=${lib}`], {
    encoding: 'utf8',
    cwd: here(engine),
  });
  if (r.status !== 0) {
    throw new LauncherError(
      'ERR_MAVEN',
      `Maven could not resolve the ${engine} jars (is Maven Central reachable?):\n${(r.stdout + r.stderr).split('\n').slice(-20).join('\n')}`,
    );
  }
  writeFileSync(marker, new Date().toISOString());
  return lib;
}

const kafka: Engine = {
  name: 'kafka',
  title: 'Kafka',
  readyTimeoutMs: 90_000,
  ports: (p) => [
    { port: p.ports.kafka, env: PORT_ENV.kafka },
    { port: p.ports.kafkaController, env: PORT_ENV.kafkaController },
  ],
  prepare(p, dir, lib) {
    const data = path.join(dir, 'data');
    const props = path.join(dir, 'server.properties');
    // Single combined node (broker + controller) in KRaft mode, static quorum: format without
    // --standalone (../shared/notes/engines.md §1.2, option A).
    writeFileSync(
      props,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${p.ports.kafkaController}`,
        `listeners=PLAINTEXT://127.0.0.1:${p.ports.kafka},CONTROLLER://127.0.0.1:${p.ports.kafkaController}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${p.ports.kafka}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${data}`,
        'num.partitions=1',
        // One broker: internal topics cannot have more replicas than that.
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        // Topics come from the catalogue only; a typo must not create a topic.
        'auto.create.topics.enable=false',
        // Tests join groups constantly: do not wait 3 s for more members.
        'group.initial.rebalance.delay.ms=0',
        'log.segment.bytes=67108864',
        '',
      ].join('\n'),
    );
    const log4j = `-Dlog4j2.configurationFile=${here('kafka', 'log4j2.properties')}`;
    const cp = path.join(lib, '*'); // the JVM expands the wildcard itself
    if (!existsSync(path.join(data, 'meta.properties'))) {
      // Format the storage once. A KRaft cluster id is a base64url UUID (what StorageTool random-uuid prints).
      const clusterId = randomBytes(16).toString('base64url');
      const r = spawnSync(
        'java',
        [
          '-Xmx256m',
          log4j,
          '-cp',
          cp,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          props,
          '--ignore-formatted',
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0)
        throw new LauncherError(
          'ERR_KAFKA_FORMAT',
          `Kafka storage format failed:\n${r.stdout}${r.stderr}`,
        );
    }
    return [
      `-Xms${p.heap.kafka}`,
      `-Xmx${p.heap.kafka}`,
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:MaxInlineLevel=15',
      '-Djava.awt.headless=true',
      log4j,
      `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
      '-cp',
      cp,
      'kafka.Kafka',
      props,
    ];
  },
  async probe(p) {
    const k = createKafka({ KAFKA_BROKERS: [`127.0.0.1:${p.ports.kafka}`] }, silentLogger(), {
      retry: { retries: 0 },
    });
    const admin = k.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
    } finally {
      await admin.disconnect();
    }
  },
};

const cassandra: Engine = {
  name: 'cassandra',
  title: 'Cassandra',
  readyTimeoutMs: 180_000,
  ports: (p) => [
    { port: p.ports.cassandra, env: PORT_ENV.cassandra },
    { port: p.ports.cassandraStorage, env: PORT_ENV.cassandraStorage },
    { port: p.ports.cassandraJmx, env: PORT_ENV.cassandraJmx },
  ],
  prepare(p, dir, lib) {
    const yaml = path.join(dir, 'cassandra.yaml');
    writeFileSync(
      yaml,
      [
        'cluster_name: imgpipe-local',
        'num_tokens: 1',
        'partitioner: org.apache.cassandra.dht.Murmur3Partitioner',
        'endpoint_snitch: SimpleSnitch', // data centre "datacenter1"
        'commitlog_sync: periodic',
        'commitlog_sync_period: 10000ms',
        // Keeps the direct-IO commitlog startup check (kernel bug 1057843) out of the way.
        'commitlog_disk_access_mode: legacy',
        'seed_provider:',
        '  - class_name: org.apache.cassandra.locator.SimpleSeedProvider',
        '    parameters:',
        `      - seeds: "127.0.0.1:${p.ports.cassandraStorage}"`,
        'listen_address: 127.0.0.1',
        'rpc_address: 127.0.0.1',
        `storage_port: ${p.ports.cassandraStorage}`,
        `native_transport_port: ${p.ports.cassandra}`,
        'start_native_transport: true',
        'concurrent_reads: 8',
        'concurrent_writes: 8',
        'concurrent_counter_writes: 8',
        'auto_snapshot: false',
        // A fresh node: enable every 5.0 format instead of the CASSANDRA_4 compatibility default.
        'storage_compatibility_mode: NONE',
        '',
      ].join('\n'),
    );
    const options = readFileSync(here('cassandra', 'jvm17-server.options'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .flatMap((l) => l.split(/\s+/));
    const jamm = readdirSync(lib).find((f) => /^jamm-.*\.jar$/.test(f));
    return [
      `-Xms${p.heap.cassandra}`,
      `-Xmx${p.heap.cassandra}`,
      ...options,
      ...(jamm ? [`-javaagent:${path.join(lib, jamm)}`] : []),
      `-Dcassandra.config=file://${yaml}`,
      `-Dcassandra.storagedir=${path.join(dir, 'data')}`,
      `-Dcassandra.logdir=${path.join(dir, 'logs')}`,
      '-Dcassandra-foreground=yes',
      `-Dlogback.configurationFile=${here('cassandra', 'logback.xml')}`,
      '-Dcassandra.skip_wait_for_gossip_to_settle=0',
      `-Dcassandra.jmx.local.port=${p.ports.cassandraJmx}`,
      '-cp',
      path.join(lib, '*'),
      'org.apache.cassandra.service.CassandraDaemon',
    ];
  },
  async probe(p) {
    const client = createCassandraClient(
      {
        CASSANDRA_CONTACT_POINTS: [`127.0.0.1:${p.ports.cassandra}`],
        CASSANDRA_LOCAL_DC: 'datacenter1',
        CASSANDRA_KEYSPACE: 'system',
        CASSANDRA_REPLICATION: '',
      },
      { withoutKeyspace: true },
    );
    try {
      await client.execute('SELECT release_version FROM system.local');
    } finally {
      await client.shutdown();
    }
  },
};

const s3proxy: Engine = {
  name: 's3proxy',
  title: 'S3 (S3Proxy)',
  readyTimeoutMs: 60_000,
  ports: (p) => [{ port: p.ports.s3, env: PORT_ENV.s3 }],
  prepare(p, dir, lib) {
    const data = path.join(dir, 'data');
    const conf = path.join(dir, 's3proxy.conf');
    writeFileSync(
      conf,
      [
        `s3proxy.endpoint=http://127.0.0.1:${p.ports.s3}`,
        // Real AWS v4 signature checks, so a client misconfiguration fails here as it would on S3.
        's3proxy.authorization=aws-v2-or-v4',
        `s3proxy.identity=${S3_LOCAL_CREDENTIALS.accessKeyId}`,
        `s3proxy.credential=${S3_LOCAL_CREDENTIALS.secretAccessKey}`,
        'jclouds.provider=filesystem-nio2',
        `jclouds.filesystem.basedir=${data}`,
        '',
      ].join('\n'),
    );
    const jar = readdirSync(lib).find((f) => /^s3proxy-.*-jar-with-dependencies\.jar$/.test(f));
    if (!jar)
      throw new LauncherError(
        'ERR_S3PROXY_JAR',
        `No s3proxy jar in ${lib}: delete that folder and run again`,
      );
    return [
      `-Xmx${p.heap.s3}`,
      '-XX:+UseSerialGC',
      '-jar',
      path.join(lib, jar),
      '--properties',
      conf,
    ];
  },
  async probe(p) {
    const env = endpointsEnv(p);
    const s3 = createS3Client(
      {
        S3_ENDPOINT: env.S3_ENDPOINT!,
        S3_REGION: 'us-east-1',
        S3_BUCKET: 'imgpipe',
        S3_ACCESS_KEY_ID: S3_LOCAL_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: S3_LOCAL_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: true,
      },
      { maxAttempts: 1, requestTimeoutMs: 3_000 },
    );
    try {
      await s3.send(new ListBucketsCommand({}));
    } finally {
      s3.destroy();
    }
  },
};

export const ENGINES: readonly Engine[] = [kafka, cassandra, s3proxy];
