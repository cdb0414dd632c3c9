/**
 * The Kubernetes base agrees with the code: every variable a Deployment gets is one its service
 * reads and its config loader accepts, ports and probes match HTTP_PORT, the grace period
 * outlasts the shutdown deadline, and the KEDA trigger watches the processors' real group and
 * topic. The files are read as written (kustomize itself is not a project dependency).
 */
import path from 'node:path';
import { createShutdown, parseEnv, silentLogger } from '@imgpipe/platform';
import { Topics } from '@imgpipe/schemas';
import {
  SERVICE_ENV,
  SERVICE_NAMES,
  envKeys,
  loadYaml,
  loadYamlAll,
  parseEnvFile,
  readRepoFile,
  type ServiceName,
} from '../config/deploy-files';

const BASE = 'deploy/k8s/base';

interface Kustomization {
  resources: string[];
  configMapGenerator: { name: string; envs: string[] }[];
  secretGenerator: { name: string; envs: string[] }[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  command: string[];
  ports?: { name: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string } }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const kustomization = loadYaml(`${BASE}/kustomization.yaml`) as Kustomization;
const manifests = kustomization.resources.flatMap(
  (file) => loadYamlAll(`${BASE}/${file}`) as Manifest[],
);
const find = (kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name);

const generated = (generators: { name: string; envs: string[] }[]) =>
  new Map(
    generators.map((g) => [
      g.name,
      Object.assign(
        {},
        ...g.envs.map((file) => parseEnvFile(readRepoFile(path.join(BASE, file)))),
      ) as Record<string, string>,
    ]),
  );
const configMaps = generated(kustomization.configMapGenerator);
const secrets = generated(kustomization.secretGenerator);

const podSpec = (service: ServiceName): PodSpec => {
  const deployment = find('Deployment', `imgpipe-${service}`);
  if (!deployment) throw new Error(`no Deployment imgpipe-${service}`);
  return (deployment.spec.template as { spec: PodSpec }).spec;
};

/** The env a service's container ends up with, and where each variable came from. */
function containerEnv(service: ServiceName) {
  const [container] = podSpec(service).containers;
  const values: Record<string, string> = {};
  const fromShared: string[] = [];
  const problems: string[] = [];
  for (const ref of container!.envFrom ?? []) {
    const name = ref.configMapRef?.name ?? '';
    const data = configMaps.get(name);
    if (!data) {
      problems.push(`envFrom ConfigMap ${name} is not generated`);
      continue;
    }
    Object.assign(values, data);
    if (name === 'imgpipe-common') fromShared.push(...Object.keys(data));
  }
  for (const e of container!.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    const value = ref ? secrets.get(ref.name)?.[ref.key] : e.value;
    if (value === undefined) problems.push(`${e.name}: no value (secret key missing?)`);
    values[e.name] = value ?? '';
  }
  return { container: container!, values, fromShared, problems };
}

describe('deploy/k8s base', () => {
  it.each(SERVICE_NAMES)('gives %s only variables it reads, with values it accepts', (service) => {
    const { container, values, fromShared, problems } = containerEnv(service);
    expect(container.command).toEqual(['node', `${service}/dist/main.js`]);
    const keys = new Set(envKeys(service));
    const readByAnyone = new Set(SERVICE_NAMES.flatMap(envKeys));
    for (const key of Object.keys(values)) {
      // The shared ConfigMap may carry what only some services read; anything else is a typo.
      const ok = keys.has(key) || (fromShared.includes(key) && readByAnyone.has(key));
      if (!ok) problems.push(`${key}: not read by ${service}`);
    }
    expect(problems).toEqual([]);
    expect(() => parseEnv(SERVICE_ENV[service], values)).not.toThrow();
  });

  it.each(SERVICE_NAMES)('serves %s on HTTP_PORT, probed on /readyz and /healthz', (service) => {
    const { container, values } = containerEnv(service);
    const config = parseEnv(SERVICE_ENV[service], values) as { HTTP_PORT: number };
    expect(container.ports).toEqual([{ name: 'http', containerPort: config.HTTP_PORT }]);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const svc = find('Service', `imgpipe-${service}`);
    expect(svc?.spec).toMatchObject({
      selector: { 'app.kubernetes.io/name': `imgpipe-${service}` },
      ports: [{ name: 'http', port: config.HTTP_PORT, targetPort: 'http' }],
    });
  });

  it.each(SERVICE_NAMES)(
    'runs %s non-root on a read-only root filesystem, with requests and limits',
    (service) => {
      const spec = podSpec(service);
      const [container] = spec.containers;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container!.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      const tmp = container!.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      for (const kind of ['requests', 'limits'] as const) {
        expect(Object.keys(container!.resources?.[kind] ?? {}).sort()).toEqual(['cpu', 'memory']);
      }
    },
  );

  it("outlasts each service's shutdown deadline with its termination grace period", async () => {
    // platform's createShutdown default deadline, measured rather than copied: a step that
    // never finishes is abandoned exactly at the deadline.
    jest.useFakeTimers();
    try {
      const coordinator = createShutdown(silentLogger());
      coordinator.add({ name: 'hang', run: () => new Promise<void>(() => undefined) });
      let finished = false;
      void coordinator.shutdown('test').then(() => (finished = true));
      await jest.advanceTimersByTimeAsync(24_999);
      expect(finished).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(finished).toBe(true);
    } finally {
      jest.useRealTimers();
    }
    const defaultDeadlineSeconds = 25;

    const problems = SERVICE_NAMES.flatMap((service) => {
      const { container, values } = containerEnv(service);
      // processor/src/main.ts: createShutdown(logger, SHUTDOWN_GRACE_MS + 10_000).
      const deadline =
        service === 'processor'
          ? (parseEnv(SERVICE_ENV.processor, values) as { SHUTDOWN_GRACE_MS: number })
              .SHUTDOWN_GRACE_MS /
              1000 +
            10
          : defaultDeadlineSeconds;
      const preStop = container.lifecycle?.preStop?.exec?.command;
      const preStopSeconds = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
      // Kubernetes' default when the field is absent.
      const grace = podSpec(service).terminationGracePeriodSeconds ?? 30;
      return grace > preStopSeconds + deadline
        ? []
        : [`${service}: grace ${grace} s <= preStop ${preStopSeconds} s + deadline ${deadline} s`];
    });
    expect(problems).toEqual([]);
  });

  it("scales processors on their real consumer group's lag on images.requested", () => {
    const scaled = find('ScaledObject', 'imgpipe-processor');
    const spec = scaled?.spec as {
      scaleTargetRef: { name: string };
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: { type: string; metadata: Record<string, string> }[];
    };
    const processor = parseEnv(SERVICE_ENV.processor, containerEnv('processor').values) as {
      PROCESSOR_GROUP_ID: string;
      KAFKA_BROKERS: string[];
    };
    expect(spec.scaleTargetRef.name).toBe('imgpipe-processor');
    expect(spec.triggers).toHaveLength(1);
    const [trigger] = spec.triggers;
    expect(trigger!.type).toBe('kafka');
    expect(trigger!.metadata).toMatchObject({
      consumerGroup: processor.PROCESSOR_GROUP_ID,
      topic: Topics.imagesRequested.name,
      bootstrapServers: processor.KAFKA_BROKERS.join(','),
      offsetResetPolicy: 'earliest',
    });
    expect(Number(trigger!.metadata.lagThreshold)).toBeGreaterThan(0);
    // A consumer group uses at most one member per partition.
    expect(spec.maxReplicaCount).toBe(Topics.imagesRequested.partitions);
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(find('Deployment', 'imgpipe-processor')?.spec.replicas).toBeUndefined();
    expect(readRepoFile('deploy/k8s/README.md')).toContain(
      `has **${Topics.imagesRequested.partitions} partitions**`,
    );
  });
});
