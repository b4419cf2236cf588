import type { T5Config } from '../checkpoint/t5-config.ts';
import type { T5Weights } from '../checkpoint/t5-weights.ts';
import { GraphBuilder } from './graph-builder.ts';
import { attr, type Graph } from './ir.ts';
import { crossKeyValues, decoderSelfBias, lmHead, paddingBias, t5Decoder, type KeyValue } from './t5-layers.ts';
import { initializerParams } from './t5-graphs.ts';

/**
 * The decoder in Optimum's "merged" layout, the one transformers.js loads: inputs input_ids,
 * encoder_attention_mask, encoder_hidden_states, past_key_values.{i}.{decoder,encoder}.{key,value} and
 * use_cache_branch; outputs logits and present.*. Only the cross-attention keys and values differ
 * between the branches (computed from the encoder states on the first step, passed through after), so
 * the If holds just that; self-attention concatenates onto a past that is empty on the first step.
 * Positions follow from the past length, as in Hugging Face's single-sequence generation.
 */
export function buildMergedDecoderGraph(cfg: T5Config, weights: T5Weights): Graph {
  const g = new GraphBuilder('t5_decoder_merged');
  const p = initializerParams(g, weights);
  const ids = g.input('input_ids', 'int64', ['batch_size', 'decoder_sequence_length']);
  const encoderMask = g.input('encoder_attention_mask', 'int64', ['batch_size', 'encoder_sequence_length']);
  const encoderStates = g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length', cfg.dModel]);
  const pastDecoder: KeyValue[] = [];
  const pastEncoder: KeyValue[] = [];
  const decoderShape = ['batch_size', cfg.numHeads, 'past_decoder_sequence_length', cfg.dKv];
  const encoderShape = ['batch_size', cfg.numHeads, 'encoder_sequence_length_out', cfg.dKv];
  const layers = Array.from({ length: cfg.numDecoderLayers }, (_, i) => i);
  for (const i of layers) {
    pastDecoder.push({
      key: g.input(`past_key_values.${i}.decoder.key`, 'float32', decoderShape),
      value: g.input(`past_key_values.${i}.decoder.value`, 'float32', decoderShape),
    });
    pastEncoder.push({
      key: g.input(`past_key_values.${i}.encoder.key`, 'float32', encoderShape),
      value: g.input(`past_key_values.${i}.encoder.value`, 'float32', encoderShape),
    });
  }
  const useCache = g.input('use_cache_branch', 'bool', [1]);

  // Cross-attention K/V: passed through with a cache, projected from the encoder states without.
  const withCache = new GraphBuilder('use_cache');
  pastEncoder.forEach(({ key, value }, i) => {
    withCache.output(withCache.op('Identity', [key]), `cache_cross_${i}_key`, 'float32', encoderShape);
    withCache.output(withCache.op('Identity', [value]), `cache_cross_${i}_value`, 'float32', encoderShape);
  });
  const withoutCache = new GraphBuilder('no_cache');
  // The branch's own constants become initializers of the subgraph; its weights come from the outer scope.
  const outerParams = { linear: p.linear, tensor: p.tensor };
  withoutCache.scope('cross', () =>
    crossKeyValues(withoutCache, cfg, outerParams, encoderStates).forEach(({ key, value }, i) => {
      withoutCache.output(key, `computed_cross_${i}_key`, 'float32', encoderShape);
      withoutCache.output(value, `computed_cross_${i}_value`, 'float32', encoderShape);
    }),
  );
  const crossFlat = g.opMulti('If', [useCache], 2 * cfg.numDecoderLayers, {
    then_branch: attr.graph(withCache.build()),
    else_branch: attr.graph(withoutCache.build()),
  });
  const cross = layers.map((i) => ({ key: crossFlat[2 * i], value: crossFlat[2 * i + 1] }));

  const { queryPositions, keyPositions, keyMask } = g.scope('positions', () => {
    const pastLength = g.dim(pastDecoder[0].key, 2);
    const total = g.add(pastLength, g.dim(ids, 1));
    const scalar = (v: string) => g.op('Squeeze', [v, g.constInt64([0])]);
    const queries = g.op('Range', [scalar(pastLength), scalar(total), g.constInt64(1)]);
    const keys = g.op('Range', [g.constInt64(0), scalar(total), g.constInt64(1)]);
    const ones = g.op('ConstantOfShape', [g.concat([g.constInt64([1]), total], 0)], { value: attr.tensor({ dtype: 'int64', shape: [1], data: new BigInt64Array([1n]) }) });
    return { queryPositions: g.unsqueeze(queries, [0]), keyPositions: g.unsqueeze(keys, [0]), keyMask: ones };
  });
  const selfBias = decoderSelfBias(g, cfg, p, queryPositions, keyPositions, keyMask);
  const { hidden, present } = t5Decoder(g, cfg, p, {
    tokens: { ids },
    selfBias,
    cross,
    crossBias: paddingBias(g, encoderMask),
    past: pastDecoder,
  });
  g.output(lmHead(g, cfg, p, hidden), 'logits', 'float32', ['batch_size', 'decoder_sequence_length', cfg.vocabSize]);
  const presentShape = ['batch_size', cfg.numHeads, 'past_decoder_sequence_length + 1', cfg.dKv];
  for (const i of layers) {
    g.output(present[i].key, `present.${i}.decoder.key`, 'float32', presentShape);
    g.output(present[i].value, `present.${i}.decoder.value`, 'float32', presentShape);
    g.output(cross[i].key, `present.${i}.encoder.key`, 'float32', encoderShape);
    g.output(cross[i].value, `present.${i}.encoder.value`, 'float32', encoderShape);
  }
  return g.build();
}
