import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { initializerBytes, type Graph } from '../graph/ir.ts';
import { serializeModel } from '../graph/onnx-serialize.ts';
import { buildEncoderGraph } from '../graph/t5-graphs.ts';
import { buildMergedDecoderGraph } from '../graph/t5-merged-decoder.ts';
import { writeBytesAtomicSync as writeBytes, writeJsonAtomicSync as writeJson } from './atomic-write.ts';
import { loadModelDir } from './model-dir.ts';
import { ModelLoadError } from './model-load-error.ts';
import { t5ConfigToJson } from './t5-config.ts';

/** Weights past this size go to a side file (ONNX external data), as protobuf stops at 2 GB. */
const EXTERNAL_DATA_BYTES = 1.5 * 2 ** 30;

export interface ExportResult {
  files: string[];
}

/**
 * Writes a model in the layout transformers.js and Optimum load: onnx/encoder_model.onnx,
 * onnx/decoder_model_merged.onnx (with use_cache_branch), config.json, generation_config.json and the
 * tokenizer files. Every file is written atomically, so an interrupted export never leaves a torn model.
 */
export function exportOnnxModel(modelDir: string, outDir: string, opts: { tokenizerDir?: string } = {}): ExportResult {
  const model = loadModelDir(modelDir, { tokenizerDir: opts.tokenizerDir, requireTokenizer: true });
  const tokenizerSource = opts.tokenizerDir ?? modelDir;
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const writeGraph = (graph: Graph, name: string) => {
    const path = join(outDir, 'onnx', `${name}.onnx`);
    const external = initializerBytes(graph) >= EXTERNAL_DATA_BYTES;
    const bytes = serializeModel(graph, {
      ...(external ? { externalData: { path: `${path}_data`, location: `${name}.onnx_data` } } : {}),
    });
    writeBytes(path, bytes);
    files.push(path, ...(external ? [`${path}_data`] : []));
  };
  writeGraph(buildEncoderGraph(model.config, model.weights), 'encoder_model');
  writeGraph(buildMergedDecoderGraph(model.config, model.weights), 'decoder_model_merged');

  const g = model.generationConfig;
  writeJson(join(outDir, 'config.json'), { ...t5ConfigToJson(model.config), use_cache: true });
  writeJson(join(outDir, 'generation_config.json'), {
    decoder_start_token_id: g.decoderStartTokenId,
    eos_token_id: g.eosTokenIds.length === 1 ? g.eosTokenIds[0] : g.eosTokenIds,
    pad_token_id: g.padTokenId,
    ...(g.maxNewTokens !== undefined ? { max_new_tokens: g.maxNewTokens } : { max_length: g.maxLength }),
  });
  files.push(join(outDir, 'config.json'), join(outDir, 'generation_config.json'));
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'spiece.model', 'tokenizer.tiktoken']) {
    const source = join(tokenizerSource, name);
    if (!existsSync(source)) continue;
    copyFileSync(source, join(outDir, name));
    files.push(join(outDir, name));
  }
  if (!existsSync(join(outDir, 'tokenizer.json'))) {
    throw new ModelLoadError(join(tokenizerSource, 'tokenizer.json'), 'transformers.js needs tokenizer.json; this model has none');
  }
  if (!existsSync(join(outDir, 'tokenizer_config.json'))) {
    // transformers.js reads the tokenizer class and special tokens from here.
    writeJson(join(outDir, 'tokenizer_config.json'), {
      tokenizer_class: 'T5Tokenizer',
      eos_token: '</s>',
      pad_token: '<pad>',
      unk_token: '<unk>',
      model_max_length: 512,
    });
    files.push(join(outDir, 'tokenizer_config.json'));
  }
  return { files };
}
