/**
 * Quality of FLAN_WEIGHTS=int8|int4|int8-gemm against f32, in one run:
 * - the reference fixtures (../shared/fixtures/t5-reference): teacher-forced logits' relative error
 *   against ours at f32, and greedy decoding's token agreement with the fixture's greedy_ids;
 * - the embedded models/flan-mini (or the build in BENCH_FLAN_MINI) on the synthetic eval suite's
 *   prompts (direct style): greedy outputs identical to f32's, token agreement, and the suite's
 *   exact-match accuracy per format. Rows are compared up to their end of sequence.
 * Prints one JSON object (the README's quantization table comes from it).
 *
 *   npm run bench -- weights-quality        (BENCH_PER_FAMILY=4, BENCH_FLAN_MINI=model dir)
 */
import { fileURLToPath } from 'node:url';
import { loadModelDir } from '../runtime/checkpoint/model-dir.ts';
import { SafetensorsFile } from '../runtime/checkpoint/safetensors.ts';
import { greedyDecode } from '../runtime/engine/greedy-decode.ts';
import type { WeightFormat } from '../runtime/graph/quantize-weights.ts';
import { T5Runner } from '../runtime/t5-runner.ts';
import { referenceDir, relativeError, rowsOf } from '../test/helpers/shared-fixtures.ts';
import { extractSyntheticAnswer, loadSyntheticTasks, normalizeSyntheticAnswer } from '../eval/benchmarks/synthetic-suite.ts';

const FORMATS: WeightFormat[] = ['f32', 'int8', 'int4', 'int8-gemm'];
const flanMini = fileURLToPath(new URL('../models/flan-mini', import.meta.url));
const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * A greedy row up to and including its end of sequence. greedyDecode pads a finished row until the
 * batch's longest row ends, so without this cut a row whose tokens are identical would still differ
 * from its f32 twin whenever another row of its batch changed length.
 */
export function untilEos(row: number[], eosTokenId: number): number[] {
  const end = row.indexOf(eosTokenId, 1);
  return end < 0 ? row : row.slice(0, end + 1);
}

/** Tokens equal position by position (rows compared up to the longer one's length), as a fraction. */
export function tokenAgreement(a: number[][], b: number[][]): number {
  let same = 0;
  let total = 0;
  a.forEach((row, r) => {
    const other = b[r];
    const n = Math.max(row.length, other.length);
    for (let i = 0; i < n; i++) if (row[i] === other[i]) same++;
    total += n;
  });
  return same / total;
}

/** One fixture model at every format: logits error vs our f32 and greedy agreement with the fixture. */
export async function fixtureQuality(model: string, formats = FORMATS) {
  const dir = `${referenceDir}/${model}`;
  const file = SafetensorsFile.open(`${dir}/expected.safetensors`);
  const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
  const inputIds = ints('input_ids');
  const attentionMask = ints('attention_mask');
  const decoderInputIds = ints('decoder_input_ids');
  const greedyIds = ints('greedy_ids');
  file.close();
  const { config, weights, generationConfig } = loadModelDir(dir, { requireTokenizer: false });
  const options = { maxNewTokens: greedyIds[0].length - 1, decoderStartTokenId: generationConfig.decoderStartTokenId, eosTokenId: config.eosTokenId, padTokenId: config.padTokenId };
  let f32Logits: Float32Array | undefined;
  const out: Record<string, { logitsRelativeError: number; greedyAgreement: number }> = {};
  for (const format of formats) {
    const runner = await T5Runner.fromWeights(config, weights, { device: 'cpu', threads: 1, weights: format });
    try {
      const logits = (await runner.forward(inputIds, attentionMask, decoderInputIds)).logits.data as Float32Array;
      f32Logits ??= logits.slice();
      const greedy = (await greedyDecode(runner, inputIds, attentionMask, options)).map((row) => untilEos(row, config.eosTokenId));
      const expected = greedyIds.map((row) => untilEos(row, config.eosTokenId));
      out[format] = { logitsRelativeError: round4(relativeError(logits, f32Logits)), greedyAgreement: round4(tokenAgreement(greedy, expected)) };
    } finally {
      await runner.release();
    }
  }
  return out;
}

export interface SuiteQualityOptions {
  formats?: WeightFormat[];
  maxNewTokens?: number;
  /** Prompts decoded together as one padded batch. */
  batch?: number;
  /** A flan-mini build other than the embedded one (a candidate before it ships). */
  modelDir?: string;
}

/** flan-mini on the synthetic suite's direct prompts: agreement with f32 and exact-match accuracy. */
export async function suiteQuality(perFamily: number, { formats = FORMATS, maxNewTokens = 32, batch = 16, modelDir = flanMini }: SuiteQualityOptions = {}) {
  const model = loadModelDir(modelDir, { requireTokenizer: true });
  const tokenizer = model.tokenizer!;
  const examples = loadSyntheticTasks(undefined, perFamily).flatMap((t) => t.examples);
  let f32Outputs: number[][] | undefined;
  const out: Record<string, { prompts: number; identicalToF32: number; tokenAgreement: number; accuracy: number }> = {};
  for (const format of formats) {
    const runner = await T5Runner.fromWeights(model.config, model.weights, { device: 'cpu', threads: 0, weights: format });
    const outputs: number[][] = [];
    try {
      for (let i = 0; i < examples.length; i += batch) {
        const ids = examples.slice(i, i + batch).map((e) => tokenizer.encode(e.input));
        const width = Math.max(...ids.map((r) => r.length));
        const padded = ids.map((r) => [...r, ...new Array<number>(width - r.length).fill(tokenizer.padId)]);
        const mask = ids.map((r) => [...r.map(() => 1), ...new Array<number>(width - r.length).fill(0)]);
        const options = { maxNewTokens, decoderStartTokenId: model.generationConfig.decoderStartTokenId, eosTokenId: model.config.eosTokenId, padTokenId: model.config.padTokenId };
        outputs.push(...(await greedyDecode(runner, padded, mask, options)).map((row) => untilEos(row, model.config.eosTokenId)));
      }
    } finally {
      await runner.release();
    }
    f32Outputs ??= outputs;
    const correct = examples.filter((e, i) => extractSyntheticAnswer(tokenizer.decode(outputs[i]), 'direct') === normalizeSyntheticAnswer(e.targets[0])).length;
    out[format] = {
      prompts: examples.length,
      identicalToF32: round4(outputs.filter((o, i) => o.join() === f32Outputs![i].join()).length / examples.length),
      tokenAgreement: round4(tokenAgreement(outputs, f32Outputs)),
      accuracy: round4(correct / examples.length),
    };
  }
  return out;
}

if (process.argv[2] === 'weights-quality') {
  const fixtures: Record<string, unknown> = {};
  for (const model of ['t5-tiny-flan-f32', 't5-tiny-flan-bf16', 't5-tiny-v1_0-tied']) fixtures[model] = await fixtureQuality(model);
  const suite = await suiteQuality(Number(process.env.BENCH_PER_FAMILY ?? 4), { modelDir: process.env.BENCH_FLAN_MINI });
  console.log(JSON.stringify({ fixtures, flanMiniSyntheticDirect: suite }));
}
