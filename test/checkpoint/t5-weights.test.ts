import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../runtime/checkpoint/safetensors.ts';
import { readT5Config } from '../../runtime/checkpoint/t5-config.ts';
import { expectedT5WeightShapes, loadT5Weights } from '../../runtime/checkpoint/t5-weights.ts';
import { bf16Dir, expectLoadError, f32Dir, hasFixtures, tempDir, tiedDir } from './fixture-paths.ts';

type F32Tensor = TensorToWrite & { dtype: 'F32'; shape: number[]; data: Float32Array };

function readAll(dir: string): F32Tensor[] {
  const file = SafetensorsFile.open(join(dir, 'model.safetensors'));
  try {
    return file.names().map((name) => ({ name, dtype: 'F32' as const, shape: file.info(name).shape, data: file.readFloat32(name) }));
  } finally {
    file.close();
  }
}

/** A copy of a fixture model directory whose tensors went through `edit`. */
function editedCopy(root: string, name: string, from: string, edit: (t: F32Tensor[]) => F32Tensor[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  copyFileSync(join(from, 'config.json'), join(dir, 'config.json'));
  writeSafetensors(join(dir, 'model.safetensors'), edit(readAll(from)));
  return dir;
}

describe.skipIf(!hasFixtures)('loadT5Weights', () => {
  const root = tempDir();

  it('loads each reference checkpoint with exactly the expected names and shapes', () => {
    for (const dir of [f32Dir, bf16Dir, tiedDir]) {
      const config = readT5Config(dir);
      const weights = loadT5Weights(dir, config);
      const expected = expectedT5WeightShapes(config);
      expect([...weights.keys()]).toEqual([...expected.keys()]);
      for (const [name, { shape, data }] of weights) {
        expect(shape).toEqual(expected.get(name));
        expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
      }
    }
  });

  it('follows the architecture: gated FF, relative bias in block 0 only, lm_head iff untied', () => {
    const flan = expectedT5WeightShapes(readT5Config(f32Dir));
    expect(flan.get('encoder.block.1.layer.1.DenseReluDense.wi_0.weight')).toEqual([96, 48]);
    expect(flan.get('decoder.block.2.layer.2.DenseReluDense.wo.weight')).toEqual([48, 96]);
    expect(flan.get('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight')).toEqual([32, 4]);
    expect(flan.has('decoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight')).toBe(false);
    expect(flan.has('decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight')).toBe(false);
    expect(flan.get('lm_head.weight')).toEqual([384, 48]);
    const tied = expectedT5WeightShapes(readT5Config(tiedDir));
    expect(tied.get('encoder.block.0.layer.1.DenseReluDense.wi.weight')).toEqual([96, 48]);
    expect(tied.has('encoder.block.0.layer.1.DenseReluDense.wi_0.weight')).toBe(false);
    expect(tied.has('lm_head.weight')).toBe(false);
    expect(tied.size).toBe(47);
    expect(flan.size).toBe(66);
  });

  it('reads a sharded copy identically to the single file', () => {
    const dir = join(root, 'sharded');
    mkdirSync(dir);
    copyFileSync(join(f32Dir, 'config.json'), join(dir, 'config.json'));
    const tensors = readAll(f32Dir);
    const shards = [tensors.slice(0, 20), tensors.slice(20, 45), tensors.slice(45)];
    const weightMap: Record<string, string> = {};
    shards.forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00003.safetensors`;
      writeSafetensors(join(dir, file), shard, { format: 'pt' });
      for (const t of shard) weightMap[t.name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));

    const config = readT5Config(dir);
    expect(loadT5Weights(dir, config)).toEqual(loadT5Weights(f32Dir, config));

    // A tensor the index places in a shard that lacks it is named with that shard.
    const lying = { ...weightMap, 'shared.weight': 'model-00001-of-00003.safetensors' };
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: lying }));
    expectLoadError(() => loadT5Weights(dir, config), 'model-00001-of-00003.safetensors', /"shared.weight" is listed.*not in this shard/);

    // An index cannot reach outside the model directory.
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'shared.weight': '../x.safetensors' } }));
    expectLoadError(() => loadT5Weights(dir, config), 'model.safetensors.index.json', /not a shard file name/);

    // A missing tensor in a sharded checkpoint is reported against the index that should list it.
    const { 'lm_head.weight': _dropped, ...withoutHead } = weightMap;
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: withoutHead }));
    expectLoadError(() => loadT5Weights(dir, config), 'model.safetensors.index.json', /missing tensor "lm_head.weight"/);
  });

  it('reports a missing tensor with its expected shape', () => {
    const dir = editedCopy(root, 'missing', f32Dir, (ts) => ts.filter((t) => !t.name.endsWith('layer.2.DenseReluDense.wi_1.weight')));
    expectLoadError(
      () => loadT5Weights(dir, readT5Config(dir)),
      'model.safetensors',
      /missing tensor "decoder.block.0.layer.2.DenseReluDense.wi_1.weight" \(and 2 more\), expected shape \[96,48\]/,
    );
  });

  it('reports a wrong shape with expected and actual', () => {
    const dir = editedCopy(root, 'transposed', f32Dir, (ts) =>
      ts.map((t) => (t.name === 'encoder.block.1.layer.0.SelfAttention.o.weight' ? { ...t, shape: [24, 96] } : t)),
    );
    expectLoadError(
      () => loadT5Weights(dir, readT5Config(dir)),
      'model.safetensors',
      /"encoder.block.1.layer.0.SelfAttention.o.weight" has shape \[24,96\], expected \[48,48\]/,
    );
  });

  it('rejects tensors the config does not explain (a gated checkpoint read as ungated)', () => {
    const dir = editedCopy(root, 'unexpected', tiedDir, (ts) => [
      ...ts,
      { name: 'encoder.block.0.layer.1.DenseReluDense.wi_1.weight', dtype: 'F32', shape: [96, 48], data: new Float32Array(96 * 48) },
    ]);
    expectLoadError(() => loadT5Weights(dir, readT5Config(dir)), 'model.safetensors', /unexpected tensor "encoder.block.0.layer.1.DenseReluDense.wi_1.weight"/);
  });

  it('ignores embed_tokens copies, and lm_head in a tied checkpoint, as transformers does', () => {
    const dir = editedCopy(root, 'duplicates', tiedDir, (ts) => {
      const shared = ts.find((t) => t.name === 'shared.weight')!;
      return [
        ...ts,
        { ...shared, name: 'encoder.embed_tokens.weight' },
        { ...shared, name: 'decoder.embed_tokens.weight' },
        { ...shared, name: 'lm_head.weight' },
      ];
    });
    const config = readT5Config(dir);
    expect(loadT5Weights(dir, config)).toEqual(loadT5Weights(tiedDir, config));
  });

  it('names the directory when there are no weights at all', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    expectLoadError(() => loadT5Weights(dir, readT5Config(f32Dir)), 'model.safetensors', /no model.safetensors or model.safetensors.index.json/);
  });
});
