import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { type IJob, Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec, ISecret } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../bin/cli.ts';
import { DEFAULT_LIMITS } from '../../server/server-config.ts';
import { DEPLOY, exportedMetricNames, metricsInQuery } from './deploy-files.ts';
import { type Manifest, readManifests, renderKustomization, strategicMerge } from './kustomize-subset.ts';

const K8S = join(DEPLOY, 'k8s');
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

const rendered = {
  base: renderKustomization(join(K8S, 'base')),
  cpu: renderKustomization(join(K8S, 'overlays/cpu')),
  gpu: renderKustomization(join(K8S, 'overlays/gpu')),
};
const secretExample = readManifests(join(K8S, 'secret-keys.example.yaml'));
const finetuneJob = readManifests(join(K8S, 'finetune-job.yaml'))[0]!;

function find<T>(manifests: Manifest[], kind: string): T {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
}
const deployment = (ms: Manifest[]) => find<Deployment>(ms, 'Deployment');
const server = (ms: Manifest[]) => deployment(ms).spec!.template.spec!.containers.find((c) => c.name === 'server')!;
const envValue = (c: IContainer, name: string) => c.env?.find((e) => e.name === name)?.value;

describe('Kubernetes manifests against the Kubernetes schemas (kubernetes-models validate)', () => {
  const every: [string, Manifest][] = [
    ...Object.entries(rendered).flatMap(([name, ms]) => ms.map((m) => [`${name}: ${m.kind} ${m.metadata.name}`, m] as [string, Manifest])),
    ...secretExample.map((m) => [`secret-keys.example.yaml: ${m.kind}`, m] as [string, Manifest]),
    [`finetune-job.yaml: Job`, finetuneJob],
  ];
  it.each(every)('%s is valid', (_name, manifest) => {
    const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    expect(model, `no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
    expect(() => new model!(manifest as never).validate()).not.toThrow();
  });

  it('refuses a manifest with a wrong type (the check can fail)', () => {
    const broken = strategicMerge(deployment(rendered.cpu), {
      spec: { template: { spec: { containers: [{ name: 'server', ports: [{ name: 'http', containerPort: 'eighty' }] }] } } },
    });
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it('every YAML file under deploy/k8s is rendered by a kustomization or checked on its own', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const checked = new Set(['secret-keys.example.yaml', 'finetune-job.yaml']);
    for (const file of files(K8S).filter((f) => f.endsWith('.yaml'))) {
      const relative = file.slice(K8S.length + 1);
      const dir = file.slice(0, file.lastIndexOf('/'));
      const kustomization = join(dir, 'kustomization.yaml');
      const listed = existsSync(kustomization) ? (readManifests(kustomization)[0] as { resources?: string[]; patches?: { path: string }[] }) : undefined;
      const inKustomization = relative.endsWith('kustomization.yaml') || listed?.resources?.includes(file.slice(dir.length + 1)) || listed?.patches?.some((p) => p.path === file.slice(dir.length + 1));
      expect(inKustomization || checked.has(relative), relative).toBe(true);
    }
  });
});

describe('the rendered overlays', () => {
  it.each(['cpu', 'gpu'] as const)('%s: probes on the server routes, preStop, and a grace period longer than the drain', (overlay) => {
    const pod = deployment(rendered[overlay]).spec!.template.spec!;
    const c = server(rendered[overlay]);
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    // The model loads after the server listens: the startup probe waits for ready, for minutes.
    expect(c.startupProbe?.httpGet?.path).toBe('/readyz');
    expect((c.startupProbe!.periodSeconds ?? 10) * (c.startupProbe!.failureThreshold ?? 3)).toBeGreaterThanOrEqual(300);
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(c.ports?.map((p) => p.name)).toContain(probe!.httpGet!.port);
    }
    const preStop = c.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const drainSeconds = Number(preStop[1]) + DEFAULT_LIMITS.shutdownGraceMs / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds);
  });

  it.each(['cpu', 'gpu'] as const)('%s: keys from the Secret, the store on the ReadWriteMany claim, non-root', (overlay) => {
    const ms = rendered[overlay];
    const pod = deployment(ms).spec!.template.spec!;
    const c = server(ms);
    const secret = secretExample[0] as unknown as ISecret;
    for (const name of ['FLAN_API_KEYS', 'FLAN_ADMIN_KEY']) {
      const ref = c.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
      expect(ref?.name, name).toBe(secret.metadata!.name);
      expect(Object.keys(secret.stringData ?? {})).toContain(ref!.key);
    }
    expect(envValue(c, 'HOST')).toBe('0.0.0.0');
    const claim = find<PersistentVolumeClaim>(ms, 'PersistentVolumeClaim');
    expect(claim.spec!.accessModes).toEqual(['ReadWriteMany']);
    const storeVolume = pod.volumes!.find((v) => v.persistentVolumeClaim?.claimName === claim.metadata!.name)!;
    expect(c.volumeMounts?.map((m) => m.name)).toContain(storeVolume.name);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(ms.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'flan-serve')).toBe(true);
  });

  it.each(['cpu', 'gpu'] as const)('%s: Service, PodDisruptionBudget, ServiceMonitor and ScaledObject select what they mean to', (overlay) => {
    const ms = rendered[overlay];
    const podLabels = deployment(ms).spec!.template.metadata!.labels!;
    const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    const service = find<Service>(ms, 'Service');
    expect(selects(service.spec!.selector!, podLabels)).toBe(true);
    expect(selects(find<PodDisruptionBudget>(ms, 'PodDisruptionBudget').spec!.selector!.matchLabels!, podLabels)).toBe(true);
    const monitor = find<ServiceMonitor>(ms, 'ServiceMonitor');
    expect(selects(monitor.spec.selector.matchLabels!, service.metadata!.labels!)).toBe(true);
    expect(monitor.spec.endpoints![0]!.path).toBe('/metrics');
    expect(service.spec!.ports!.map((p) => p.name)).toContain(monitor.spec.endpoints![0]!.port);
    const scaler = find<ScaledObject>(ms, 'ScaledObject');
    expect(scaler.spec.scaleTargetRef.name).toBe(deployment(ms).metadata!.name);
    // More replicas than the budget keeps available, or a node drain could never evict one.
    expect(scaler.spec.minReplicaCount).toBeGreaterThan(find<PodDisruptionBudget>(ms, 'PodDisruptionBudget').spec!.minAvailable as number);
    // The autoscaler owns the replica count; a `replicas` field would reset it on every apply.
    expect(deployment(ms).spec!.replicas).toBeUndefined();
  });

  it('the autoscaler queries the queue depth the server exports', async () => {
    const exported = await exportedMetricNames();
    for (const ms of [rendered.cpu, rendered.gpu]) {
      const trigger = find<ScaledObject>(ms, 'ScaledObject').spec.triggers[0]!;
      expect(trigger.type).toBe('prometheus');
      const query = String(trigger.metadata.query);
      expect(metricsInQuery(query)).toEqual(['flan_queue_depth']);
      for (const name of metricsInQuery(query)) expect(exported).toContain(name);
    }
  });

  it('cpu asks for no GPU; gpu asks for one, runs the CUDA image with FLAN_DEVICE=cuda on GPU nodes', () => {
    const cpu = server(rendered.cpu);
    const gpu = server(rendered.gpu);
    expect(cpu.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(cpu.image).toBe('flan-serve:0.1.0');
    expect(gpu.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(envValue(gpu, 'FLAN_DEVICE')).toBe('cuda');
    expect(gpu.image).toBe('flan-serve:0.1.0-cuda12');
    // The patch merged into the base's container rather than replacing it.
    expect(envValue(gpu, 'HOST')).toBe('0.0.0.0');
    expect(gpu.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(deployment(rendered.gpu).spec!.template.spec!.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
  });
});

describe('the finetune Job template', () => {
  const job = finetuneJob as unknown as IJob;
  const pod = job.spec!.template.spec as IPodSpec;
  const c = pod.containers[0]!;

  it('runs `flan-serve finetune` with flags the command has, on a GPU node, writing into the store', () => {
    const finetune = buildProgram().commands.find((cmd) => cmd.name() === 'finetune')!;
    const known = new Set(finetune.options.map((o) => o.long));
    expect(c.args![0]).toBe('finetune');
    const flags = c.args!.filter((a) => a.startsWith('--'));
    for (const flag of flags) expect(known, flag).toContain(flag);
    for (const required of finetune.options.filter((o) => o.mandatory)) expect(flags).toContain(required.long);
    const gpuPod = deployment(rendered.gpu).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual(gpuPod.nodeSelector);
    expect(pod.tolerations).toEqual(gpuPod.tolerations);
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(c.image).toBe(server(rendered.gpu).image);
    const claim = find<PersistentVolumeClaim>(rendered.gpu, 'PersistentVolumeClaim').metadata!.name;
    const store = pod.volumes!.find((v) => v.persistentVolumeClaim?.claimName === claim)!;
    const mount = c.volumeMounts!.find((m) => m.name === store.name)!;
    expect(c.args![c.args!.indexOf('--out') + 1]!.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(job.metadata!.namespace).toBe('flan-serve');
  });
});

describe('the kustomize subset renderer', () => {
  it('merges lists of containers and env by name, replaces lists with no shared key, deletes on null', () => {
    const base = { spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }] }], tolerations: [{ key: 'k' }], keep: 1, drop: 2 } };
    const patch = { spec: { containers: [{ name: 'a', env: [{ name: 'B', value: '2' }] }], tolerations: [{ key: 'g' }], drop: null } };
    expect(strategicMerge(base, patch)).toEqual({
      spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }], tolerations: [{ key: 'g' }], keep: 1 },
    });
  });
});
