import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Renders a kustomization the way `kustomize build` does, for the subset deploy/k8s uses, so CI can
 * validate the overlays as applied without the kustomize binary (npm has no kustomize renderer).
 * Supported: `resources` (files and directories holding a kustomization), `namespace`, `images`
 * (name, newName, newTag) and `patches` with `path` (strategic merge patches, targeted by kind and
 * name). Any other field is refused, so a kustomization that grows past the subset fails loudly
 * instead of rendering differently from kustomize.
 */
export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } };

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { path: string }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'PersistentVolume', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding']);

/** Every YAML document of a file, empty ones dropped. */
export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export function renderKustomization(dir: string): Manifest[] {
  const kustomization = readManifests(join(dir, 'kustomization.yaml'))[0] as unknown as Kustomization;
  for (const key of Object.keys(kustomization)) {
    if (!SUPPORTED.has(key)) throw new Error(`${dir}/kustomization.yaml: "${key}" is outside the subset this renderer implements`);
  }
  let manifests = (kustomization.resources ?? []).flatMap((entry) => {
    const path = resolve(dir, entry);
    return entry.endsWith('.yaml') || entry.endsWith('.yml') ? readManifests(path) : renderKustomization(path);
  });
  for (const patch of kustomization.patches ?? []) {
    for (const p of readManifests(join(dir, patch.path))) {
      const target = manifests.findIndex((m) => m.kind === p.kind && m.metadata.name === p.metadata.name);
      if (target < 0) throw new Error(`${dir}/${patch.path}: no ${p.kind} ${p.metadata.name} to patch`);
      manifests[target] = strategicMerge(manifests[target]!, p) as Manifest;
    }
  }
  if (kustomization.namespace) {
    const namespace = kustomization.namespace;
    manifests = manifests.map((m) => (CLUSTER_SCOPED.has(m.kind) ? m : { ...m, metadata: { ...m.metadata, namespace } }));
  }
  for (const image of kustomization.images ?? []) manifests = manifests.map((m) => setImage(m, image) as Manifest);
  return manifests;
}

// kyaml's keys for merging a list of maps element by element when no schema names one: the list
// merges on the first key that every element of both lists has; otherwise the patch's list replaces.
const ASSOCIATIVE_KEYS = ['mountPath', 'devicePath', 'ip', 'type', 'topologyKey', 'name', 'containerPort'];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps merge key by key (null deletes), lists of maps merge on a shared key, anything else replaces. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in base ? strategicMerge(base[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) {
    const elements = [...base, ...patch];
    const key = ASSOCIATIVE_KEYS.find((k) => elements.length > 0 && elements.every((e) => isMap(e) && k in e));
    if (!key) return patch;
    const merged = [...base] as Record<string, unknown>[];
    for (const element of patch as Record<string, unknown>[]) {
      const at = merged.findIndex((e) => e[key] === element[key]);
      if (at < 0) merged.push(element);
      else merged[at] = strategicMerge(merged[at], element) as Record<string, unknown>;
    }
    return merged;
  }
  return patch;
}

/** kustomize's images transformer: every `image:` field, in any resource, whose name matches. */
function setImage(node: unknown, image: { name: string; newName?: string; newTag?: string }): unknown {
  if (Array.isArray(node)) return node.map((n) => setImage(n, image));
  if (!isMap(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'image' && typeof value === 'string' && imageName(value) === image.name) {
      const tag = image.newTag ?? value.slice(image.name.length + 1);
      out[key] = `${image.newName ?? image.name}${tag ? `:${tag}` : ''}`;
    } else out[key] = setImage(value, image);
  }
  return out;
}

function imageName(reference: string): string {
  const slash = reference.lastIndexOf('/');
  const colon = reference.indexOf(':', slash + 1);
  return colon < 0 ? reference : reference.slice(0, colon);
}
