/**
 * Run by test/device/integer-gemm-range.test.ts, natively and under qemu-user as CPUs without VNNI:
 * the screened head's pick for a hidden state built to make the u8s8 kernel saturate, against the f32
 * head's argmax. Prints one JSON line: { levels, screened, exact }. `--levels 127|63` forces the weight
 * range instead of asking the kernel (integerGemmWeightLevels).
 */
import { integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import { buildScreenedHeadGraph, screenBlockSize } from '../../runtime/graph/t5-graphs.ts';
import { contribOpsets, type WeightLevels } from '../../runtime/graph/quantize-weights.ts';
import { serializeModel } from '../../runtime/graph/onnx-serialize.ts';
import { createSession, ort } from '../../runtime/onnx-session.ts';
import { ScreenedHead } from '../../runtime/screened-head.ts';
import { tinyT5Config } from './tiny-model.ts';

const V = 64;
const D = 16;
// An untied head (gated) with unscaled decoder outputs: the screen reads the hidden state as it is.
const config = tinyT5Config({ vocabSize: V, dModel: D });

/**
 * The hidden state: positive at 0 and 1 (one pair of the kernel's vpmaddubsw) and at 2, small elsewhere.
 * Token A weighs 0 and 1 by 1: its u8 x s8 pair (about 250 x 127, twice) overflows int16. Token B weighs
 * 2 alone (its partner 3 weighs 0, so its pair stays under 255 x 127) and scores 0.9 of A exactly. Every
 * other token scores 0. The f32 head picks A; a saturated screen sees A near 0 and settles on B.
 */
const hidden = Float32Array.from({ length: D }, (_, k) => [1, 0.9, 0.5][k] ?? 0.01 * ((k % 3) - 1));
const A = 7;
const B = 40;
const head = new Float32Array(V * D);
head[A * D] = 1;
head[A * D + 1] = 1;
head[B * D + 2] = (0.9 * (hidden[0] + hidden[1])) / hidden[2];

async function main(): Promise<void> {
  const forced = process.argv.indexOf('--levels');
  const levels = forced >= 0 ? (Number(process.argv[forced + 1]) as WeightLevels) : await integerGemmWeightLevels();
  const graph = buildScreenedHeadGraph(config, new Map([['lm_head.weight', { shape: [V, D], data: head }]]), levels);
  const session = await createSession(serializeModel(graph, { extraOpsets: contribOpsets(graph) }), { device: 'cpu', threads: 1 });
  try {
    const out = await session.run({ hidden: new ort.Tensor('float32', hidden, [1, 1, D]) });
    const screen = new ScreenedHead(head, V, D, levels);
    const data = (name: string) => out[name].data;
    const { greedyIds, uncertain } = screen.pick(
      data('head_input') as Float32Array,
      data('screen_maxima') as Float32Array,
      data('screen_blocks') as BigInt64Array,
      data('screen_values') as Float32Array,
      screenBlockSize(V),
    );
    let exact = 0;
    for (let j = 1; j < V; j++) if (screen.exactLogit(hidden, j) > screen.exactLogit(hidden, exact)) exact = j;
    process.stdout.write(`${JSON.stringify({ levels, screened: uncertain.length ? null : Number(greedyIds[0]), exact })}\n`);
  } finally {
    await session.release();
  }
}

void main();
