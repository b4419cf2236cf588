import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_LIMITS } from '../../server/server-config.ts';
import { DEPLOY, REPO, VERSIONED_TAG, exportedMetricNames, metricsInQuery } from './deploy-files.ts';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image: string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}
interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string; datasource: { uid: string } }[];
}

const readYaml = <T>(path: string) => parse(readFileSync(path, 'utf8')) as T;
const compose = readYaml<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }>(join(DEPLOY, 'compose.yaml'));
const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana/dashboards/flan-serve.json'), 'utf8')) as { uid: string; panels: Panel[] };

/** A compose bind mount "./x:/y[:ro]" as the host path (relative to deploy/) and the container path. */
function mounts(service: ComposeService): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    const [source, target] = v.split(':');
    return { source: source!, target: target! };
  });
}
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1]);

describe('deploy/compose.yaml', () => {
  const { server, prometheus, grafana } = compose.services;

  it('builds the server from the CPU Dockerfile and keeps FLAN_DATA_DIR on a named volume', () => {
    expect(server).toBeDefined();
    const dockerfile = resolve(DEPLOY, server!.build!.context, server!.build!.dockerfile);
    expect(dockerfile).toBe(join(REPO, 'deploy/docker/Dockerfile'));
    const parsed = DockerfileParser.parse(readFileSync(dockerfile, 'utf8'));
    const dataDir = parsed
      .getENVs()
      .flatMap((e) => e.getProperties())
      .find((p) => p.getName() === 'FLAN_DATA_DIR')!
      .getValue();
    const data = mounts(server!).find((m) => m.target === dataDir);
    expect(data && data.source in compose.volumes).toBe(true);
  });

  it('demands API keys (a keyless server listens on loopback, out of reach) and stops slower than it drains', () => {
    expect(server!.environment!.FLAN_API_KEYS).toMatch(/^\$\{FLAN_API_KEYS:\?.+\}$/);
    expect(seconds(server!.stop_grace_period!)).toBeGreaterThan(DEFAULT_LIMITS.shutdownGraceMs / 1000);
  });

  it('pins every image by a versioned tag', () => {
    for (const [name, service] of Object.entries(compose.services)) expect(service.image.split(':')[1], name).toMatch(VERSIONED_TAG);
  });

  it('has Prometheus scrape the server at /metrics', () => {
    const config = mounts(prometheus!).find((m) => m.target === '/etc/prometheus/prometheus.yml')!;
    const scrape = readYaml<{ scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] }>(join(DEPLOY, config.source));
    const port = server!.ports![0]!.split(':')[1];
    expect(scrape.scrape_configs).toContainEqual(expect.objectContaining({ metrics_path: '/metrics', static_configs: [{ targets: [`server:${port}`] }] }));
  });

  it('provisions Grafana with the Prometheus datasource and the dashboard folder it mounts', () => {
    const provisioning = mounts(grafana!).find((m) => m.target === '/etc/grafana/provisioning')!;
    const datasources = readYaml<{ datasources: { uid: string; url: string }[] }>(join(DEPLOY, provisioning.source, 'datasources/prometheus.yaml'));
    expect(datasources.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
    const providers = readYaml<{ providers: { options: { path: string } }[] }>(join(DEPLOY, provisioning.source, 'dashboards/flan-serve.yaml'));
    const dashboards = mounts(grafana!).find((m) => m.target === providers.providers[0]!.options.path)!;
    expect(existsSync(join(DEPLOY, dashboards.source, 'flan-serve.json'))).toBe(true);
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(datasources.datasources[0]!.uid);
      for (const target of panel.targets) expect(target.datasource.uid).toBe(datasources.datasources[0]!.uid);
    }
  });
});

describe('deploy/grafana/dashboards/flan-serve.json', () => {
  it('queries only metrics the server exports', async () => {
    const exported = await exportedMetricNames();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        expect(metricsInQuery(expr).length, expr).toBeGreaterThan(0);
        for (const name of metricsInQuery(expr)) expect(exported, `${panel.title}: ${expr}`).toContain(name);
      }
    }
  });

  it('shows TTFT, inter-token latency, queue depth, batch size, tokens/s and jobs', () => {
    const shown = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsInQuery(t.expr))));
    for (const metric of [
      'flan_time_to_first_token_seconds',
      'flan_inter_token_latency_seconds',
      'flan_queue_depth',
      'flan_batch_size',
      'flan_tokens_total',
      'flan_fine_tuning_jobs',
    ]) {
      expect(shown, metric).toContain(metric);
    }
  });

  it('reads a histogram as its _bucket series, through histogram_quantile', () => {
    for (const { expr } of dashboard.panels.flatMap((p) => p.targets)) {
      if (expr.includes('_bucket')) expect(expr).toMatch(/^histogram_quantile\(0\.\d+, sum by \(le\) \(rate\(flan_[a-z_]+_bucket\[\$__rate_interval\]\)\)\)$/);
    }
  });
});
