import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ModelLoadError } from './model-load-error.ts';
import { isPlainObject, readJsonObjectFile } from './read-json-file.ts';
import { SafetensorsFile, type SafetensorsTensorInfo } from './safetensors.ts';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const SHARD_INDEX_NAME = 'model.safetensors.index.json';

/**
 * The tensors of a model directory, whether in one model.safetensors or in shards listed by
 * model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}). Callers ask by
 * tensor name and never care which file holds it, except to name that file in an error.
 */
export class CheckpointTensors {
  private constructor(
    /** The file that lists the tensors: model.safetensors or the index. */
    readonly listingFile: string,
    private readonly fileOfTensor: Map<string, SafetensorsFile>,
    private readonly files: SafetensorsFile[],
  ) {}

  /** Prefers model.safetensors when both layouts are present, as transformers does. */
  static open(dir: string): CheckpointTensors {
    const single = join(dir, SINGLE_FILE_NAME);
    const index = join(dir, SHARD_INDEX_NAME);
    if (existsSync(single)) {
      const file = SafetensorsFile.open(single);
      return new CheckpointTensors(single, new Map(file.names().map((n) => [n, file])), [file]);
    }
    if (existsSync(index)) return CheckpointTensors.openShards(dir, index);
    throw new ModelLoadError(single, `no ${SINGLE_FILE_NAME} or ${SHARD_INDEX_NAME} in ${dir}`);
  }

  private static openShards(dir: string, index: string): CheckpointTensors {
    const weightMap = readJsonObjectFile(index).weight_map;
    if (!isPlainObject(weightMap)) throw new ModelLoadError(index, '"weight_map" must be an object');
    const shards = new Map<string, SafetensorsFile>();
    const fileOfTensor = new Map<string, SafetensorsFile>();
    try {
      for (const [tensor, shardName] of Object.entries(weightMap)) {
        // A shard is a sibling file: refuse paths so an index cannot point outside the model directory.
        if (typeof shardName !== 'string' || shardName !== basename(shardName) || shardName.startsWith('.')) {
          throw new ModelLoadError(index, `tensor "${tensor}" maps to ${JSON.stringify(shardName)}, not a shard file name`);
        }
        let shard = shards.get(shardName);
        if (!shard) {
          shard = SafetensorsFile.open(join(dir, shardName));
          shards.set(shardName, shard);
        }
        if (!shard.has(tensor)) {
          throw new ModelLoadError(shard.path, `tensor "${tensor}" is listed in ${SHARD_INDEX_NAME} but not in this shard`);
        }
        fileOfTensor.set(tensor, shard);
      }
    } catch (err) {
      for (const shard of shards.values()) shard.close();
      throw err;
    }
    return new CheckpointTensors(index, fileOfTensor, [...shards.values()]);
  }

  names(): string[] {
    return [...this.fileOfTensor.keys()];
  }

  has(name: string): boolean {
    return this.fileOfTensor.has(name);
  }

  /** The path of the file holding `name`; the listing file when there is no such tensor. */
  fileOf(name: string): string {
    return this.fileOfTensor.get(name)?.path ?? this.listingFile;
  }

  info(name: string): SafetensorsTensorInfo {
    return this.file(name).info(name);
  }

  readFloat32(name: string): Float32Array {
    return this.file(name).readFloat32(name);
  }

  close(): void {
    for (const file of this.files) file.close();
  }

  private file(name: string): SafetensorsFile {
    const file = this.fileOfTensor.get(name);
    if (!file) throw new ModelLoadError(this.listingFile, `tensor "${name}" not found`);
    return file;
  }
}
