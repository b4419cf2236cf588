import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../runtime/checkpoint/safetensors.ts';
import type { Param, StateTensor } from './optimizer.ts';

/**
 * A trainer checkpoint is one safetensors file: the trainable parameters (`param.<name>`), the
 * optimizer's slots (`optimizer.<param>/<slot>`) and, in the metadata, the step and whatever the
 * training loop needs to continue exactly (RNG state, data position). One file written atomically
 * means a crash leaves the previous checkpoint or the new one, never a mix.
 */
export interface TrainerCheckpoint {
  step: number;
  params: Map<string, Param>;
  optimizer: Map<string, Float32Array>;
  meta: Record<string, string>;
}

const PARAM = 'param.';
const OPTIMIZER = 'optimizer.';

export function writeTrainerCheckpoint(
  path: string,
  step: number,
  params: ReadonlyMap<string, Param>,
  optimizer: readonly StateTensor[],
  meta: Record<string, string>,
): void {
  const tensors: TensorToWrite[] = [];
  for (const [name, p] of params) tensors.push({ name: PARAM + name, dtype: 'F32', shape: p.shape, data: p.data });
  for (const s of optimizer) tensors.push({ name: OPTIMIZER + s.name, dtype: 'F32', shape: s.shape, data: s.data });
  writeSafetensors(path, tensors, { ...meta, step: String(step) });
}

export function readTrainerCheckpoint(path: string): TrainerCheckpoint {
  const file = SafetensorsFile.open(path);
  try {
    const params = new Map<string, Param>();
    const optimizer = new Map<string, Float32Array>();
    for (const name of file.names()) {
      if (name.startsWith(PARAM)) params.set(name.slice(PARAM.length), { shape: file.info(name).shape, data: file.readFloat32(name) });
      else if (name.startsWith(OPTIMIZER)) optimizer.set(name.slice(OPTIMIZER.length), file.readFloat32(name));
    }
    const { step, ...meta } = file.metadata;
    const steps = Number(step);
    if (!Number.isInteger(steps) || steps < 0) throw new Error(`${path}: checkpoint metadata has no valid step`);
    return { step: steps, params, optimizer, meta };
  } finally {
    file.close();
  }
}
