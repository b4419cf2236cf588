import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loraNames, type LoraSpec } from '../graph/t5-train-graph.ts';
import { writeDirAtomicSync } from './atomic-write.ts';
import { ModelLoadError } from './model-load-error.ts';
import { readJsonObjectFile } from './read-json-file.ts';
import { SafetensorsFile, writeSafetensors } from './safetensors.ts';

/** A LoRA factor pair of one linear layer: A [rank, in], B [out, rank] (PEFT's and our trainer's layout). */
export interface LoraFactors {
  a: { shape: number[]; data: Float32Array };
  b: { shape: number[]; data: Float32Array };
}

/** A trained LoRA adapter: per targeted base weight (e.g. "encoder.block.0.layer.0.SelfAttention.q.weight") its factors. */
export interface LoraAdapter {
  spec: LoraSpec;
  factors: Map<string, LoraFactors>;
}

const CONFIG_FILE = 'adapter_config.json';
const WEIGHTS_FILE = 'adapter_model.safetensors';
/** PEFT prefixes every adapter tensor with the wrapped model's path. */
const PEFT_PREFIX = 'base_model.model.';

/** Whether a directory holds an adapter (PEFT's layout) rather than a whole model. */
export const isAdapterDir = (dir: string) => existsSync(join(dir, CONFIG_FILE));

/** Bytes of an adapter's factors: what the adapter memory budget counts. */
export function adapterBytes(adapter: LoraAdapter): number {
  let bytes = 0;
  for (const f of adapter.factors.values()) bytes += f.a.data.byteLength + f.b.data.byteLength;
  return bytes;
}

/**
 * An adapter from the trainer's factor map (`<module>.lora_A.weight` / `.lora_B.weight`, see loraNames)
 * for the base weights the spec targets.
 */
export function adapterFromFactors(spec: LoraSpec, targets: string[], params: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): LoraAdapter {
  const factors = new Map<string, LoraFactors>();
  for (const weight of targets) {
    const names = loraNames(weight);
    const a = params.get(names.a);
    const b = params.get(names.b);
    if (!a || !b) throw new Error(`LoRA factors of ${weight} are missing`);
    factors.set(weight, { a: { shape: a.shape, data: Float32Array.from(a.data) }, b: { shape: b.shape, data: Float32Array.from(b.data) } });
  }
  return { spec, factors };
}

/**
 * Writes an adapter as PEFT does (adapter_config.json and adapter_model.safetensors), staged beside
 * `target` and renamed into place so a loader never sees half of it.
 */
export function writeAdapterDir(target: string, adapter: LoraAdapter, baseModel: string): void {
  writeDirAtomicSync(target, (staging) => writeAdapterFiles(staging, adapter, baseModel));
}

function writeAdapterFiles(staging: string, adapter: LoraAdapter, baseModel: string): void {
  const config = {
    peft_type: 'LORA',
    task_type: 'SEQ_2_SEQ_LM',
    base_model_name_or_path: baseModel,
    r: adapter.spec.rank,
    lora_alpha: adapter.spec.alpha,
    target_modules: adapter.spec.targets,
    lora_dropout: 0,
    bias: 'none',
  };
  writeFileSync(join(staging, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  const tensors = [...adapter.factors].flatMap(([weight, f]) => {
    const names = loraNames(weight);
    return [
      { name: PEFT_PREFIX + names.a, dtype: 'F32' as const, shape: f.a.shape, data: f.a.data },
      { name: PEFT_PREFIX + names.b, dtype: 'F32' as const, shape: f.b.shape, data: f.b.data },
    ];
  });
  writeSafetensors(join(staging, WEIGHTS_FILE), tensors, { format: 'pt' });
}

/** Reads an adapter directory in PEFT's layout; a malformed one is a ModelLoadError naming the file. */
export function readAdapterDir(dir: string): LoraAdapter {
  const configPath = join(dir, CONFIG_FILE);
  const config = readJsonObjectFile(configPath);
  const { r, lora_alpha: alpha, target_modules: targets } = config;
  if (config.peft_type !== 'LORA') throw new ModelLoadError(configPath, `peft_type must be "LORA", not ${JSON.stringify(config.peft_type)}`);
  if (!Number.isInteger(r) || (r as number) < 1) throw new ModelLoadError(configPath, 'r must be a positive integer');
  if (typeof alpha !== 'number') throw new ModelLoadError(configPath, 'lora_alpha must be a number');
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string')) throw new ModelLoadError(configPath, 'target_modules must be a list of module names');
  const file = SafetensorsFile.open(join(dir, WEIGHTS_FILE));
  try {
    const factors = new Map<string, LoraFactors>();
    for (const name of file.names()) {
      const match = /^(?:base_model\.model\.)?(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
      if (!match) continue;
      const bName = name.replace('.lora_A', '.lora_B');
      const a = { shape: file.info(name).shape, data: file.readFloat32(name) };
      const b = { shape: file.info(bName).shape, data: file.readFloat32(bName) };
      if (a.shape[0] !== r || b.shape[1] !== r) throw new ModelLoadError(file.path, `${name}: rank ${a.shape[0]}/${b.shape[1]} differs from r=${String(r)}`);
      factors.set(`${match[1]}.weight`, { a, b });
    }
    if (factors.size === 0) throw new ModelLoadError(file.path, 'no lora_A/lora_B tensors');
    return { spec: { rank: r as number, alpha, targets: targets as string[] }, factors };
  } finally {
    file.close();
  }
}
