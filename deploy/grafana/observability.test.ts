/**
 * The compose stack's Prometheus scrapes every service where it listens, and the provisioned
 * Grafana dashboard queries only metrics the services really register (by name and type), so a
 * renamed metric breaks this test instead of leaving an empty panel.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRegistry, parseEnv } from '@imgpipe/platform';
import {
  REPO,
  SERVICE_ENV,
  SERVICE_NAMES,
  composeEnvironment,
  loadYaml,
  readRepoFile,
} from '../config/deploy-files';

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Metrics the code registers: `new Counter({ name: 'imgpipe_…' })` etc. in every package. */
async function registeredMetrics(): Promise<Map<string, MetricType>> {
  const found = new Map<string, MetricType>();
  const packages = ['platform', ...SERVICE_NAMES];
  for (const file of packages.flatMap((p) => sourceFiles(path.join(REPO, p, 'src')))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '(\w+)'/g)) {
      found.set(m[2]!, m[1]!.toLowerCase() as MetricType);
    }
  }
  // Node's default metrics, which createRegistry adds with the imgpipe_ prefix.
  for (const m of await createRegistry('test').getMetricsAsJSON()) {
    found.set(m.name, m.type as unknown as MetricType);
  }
  return found;
}

interface Panel {
  title?: string;
  type: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

const dashboardFile = 'deploy/grafana/dashboards/imgpipe.json';
const dashboard = JSON.parse(readRepoFile(dashboardFile)) as { uid: string; panels: Panel[] };

describe('Grafana dashboard', () => {
  it('queries only metrics the services register, histograms through their buckets', async () => {
    const registered = await registeredMetrics();
    const problems: string[] = [];
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        for (const [name] of target.expr.matchAll(/\bimgpipe_\w+/g)) {
          used.add(name);
          const base = name.replace(/_(bucket|sum|count)$/, '');
          const type = registered.get(name) ?? registered.get(base);
          if (!type) problems.push(`${panel.title}: ${name} is not registered by any service`);
          else if (name !== base && !registered.has(name) && type !== 'histogram') {
            problems.push(`${panel.title}: ${name} but ${base} is a ${type}`);
          } else if (name === base && type === 'histogram') {
            problems.push(`${panel.title}: histogram ${name} queried without _bucket/_sum/_count`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // The panels: throughput, failures by code, latency, consumer lag, webhook outcomes.
    for (const needed of [
      'imgpipe_images_processed_total',
      'imgpipe_image_stage_duration_seconds_bucket',
      'imgpipe_http_request_duration_seconds_bucket',
      'imgpipe_bus_consumer_lag_messages',
      'imgpipe_webhook_attempts_total',
    ]) {
      expect(used).toContain(needed);
    }
  });

  it('uses the provisioned Prometheus datasource, from the folder compose mounts', () => {
    const datasources = loadYaml('deploy/grafana/provisioning/datasources/prometheus.yml') as {
      datasources: { uid: string; url: string }[];
    };
    const [prometheus] = datasources.datasources;
    expect(prometheus!.url).toBe('http://prometheus:9090');
    const uids = dashboard.panels
      .filter((p) => p.type !== 'row')
      .flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]);
    expect(new Set(uids)).toEqual(new Set([prometheus!.uid]));

    const providers = loadYaml('deploy/grafana/provisioning/dashboards/imgpipe.yml') as {
      providers: { options: { path: string } }[];
    };
    const compose = loadYaml('docker-compose.yml') as {
      services: { grafana: { volumes: string[] } };
    };
    expect(compose.services.grafana.volumes).toContain(
      `./${path.dirname(dashboardFile)}:${providers.providers[0]!.options.path}:ro`,
    );
  });
});

describe('Prometheus (docker compose)', () => {
  it('scrapes every replica of every service on the port it listens on', () => {
    const config = loadYaml('deploy/prometheus/prometheus.yml') as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const compose = loadYaml('docker-compose.yml');
    for (const service of SERVICE_NAMES) {
      const { HTTP_PORT } = parseEnv(SERVICE_ENV[service], composeEnvironment(compose, service)!);
      const job = config.scrape_configs.find((j) => j.job_name === `imgpipe-${service}`);
      expect({ service, sd: job?.dns_sd_configs }).toEqual({
        service,
        sd: [expect.objectContaining({ names: [service], port: HTTP_PORT })],
      });
    }
  });
});
