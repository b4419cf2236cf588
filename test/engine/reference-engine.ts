import { SafetensorsFile } from '../../runtime/checkpoint/safetensors.ts';
import type { GenerationEvent } from '../../runtime/engine/engine-api.ts';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { loadTokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { DEFAULT_LIMITS, EngineCore, type EngineLimits } from '../../runtime/engine/engine-core.ts';
import type { ModelLoader } from '../../runtime/engine/model-router.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { referenceDir, rowsOf, tokenizerDir } from '../helpers/shared-fixtures.ts';

/**
 * An engine over a reference checkpoint. Its 384-token vocabulary is the head of T5's, so the real T5
 * tokenizer decodes its output (prompts are given as token ids).
 */
export async function referenceEngine(model: string, limits: Partial<EngineLimits> = {}): Promise<EngineCore> {
  const ref = { id: model, dir: `${referenceDir}/${model}` };
  // The fixtures have no tokenizer of their own; T5's decodes their ids (it is larger than their vocabulary).
  const loader: ModelLoader = async (_ref, session) => {
    const { config, weights, generationConfig } = loadModelDir(ref.dir);
    const runner = await T5Runner.fromWeights(config, weights, session);
    const tokens = { decoderStart: generationConfig.decoderStartTokenId, eos: generationConfig.eosTokenIds };
    return { runner, tokenizer: loadTokenizer(tokenizerDir), tokens, bytes: 0 };
  };
  const engine = new EngineCore({ ...DEFAULT_LIMITS, ...limits }, { device: 'cpu', threads: 1 }, ref, loader);
  await engine.load(ref);
  return engine;
}

export function referenceCase(model: string) {
  const file = SafetensorsFile.open(`${referenceDir}/${model}/expected.safetensors`);
  try {
    const ints = (name: string) => rowsOf(file.readInt64AsNumbers(name), file.info(name).shape[1]);
    const mask = ints('attention_mask');
    const prompts = ints('input_ids').map((row, r) => row.filter((_, c) => mask[r][c] === 1));
    return { prompts, greedy: ints('greedy_ids') };
  } finally {
    file.close();
  }
}

export interface Collected {
  tokens: number[][];
  texts: string[];
  finish: string[];
  answers: (string | undefined)[];
  done?: Extract<GenerationEvent, { type: 'done' }>;
  logprobs: number[][];
}

export async function collect(events: AsyncIterable<GenerationEvent>, onToken?: (count: number) => void): Promise<Collected> {
  const out: Collected = { tokens: [], texts: [], finish: [], answers: [], logprobs: [] };
  let count = 0;
  for await (const e of events) {
    if (e.type === 'token') {
      (out.tokens[e.sample] ??= []).push(e.tokenId);
      out.texts[e.sample] = (out.texts[e.sample] ?? '') + e.text;
      if (e.logprob !== undefined) (out.logprobs[e.sample] ??= []).push(e.logprob);
      onToken?.(++count);
    } else if (e.type === 'sample_done') {
      out.finish[e.sample] = e.finishReason;
      out.answers[e.sample] = e.answer;
      out.texts[e.sample] ??= '';
      if (out.texts[e.sample] !== e.text) throw new Error(`streamed text ${JSON.stringify(out.texts[e.sample])} != final ${JSON.stringify(e.text)}`);
    } else {
      out.done = e;
    }
  }
  return out;
}
