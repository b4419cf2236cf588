import type { Command } from 'commander';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { sessionConfigFromEnv } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { UsageError } from '../cli.ts';
import { readStdin } from './read-stdin.ts';

interface LogitsInput {
  input_ids: number[][];
  attention_mask: number[][];
  decoder_input_ids: number[][];
}

export function registerLogits(program: Command): void {
  program
    .command('logits')
    .description(
      'Read {input_ids, attention_mask, decoder_input_ids} (arrays of arrays of integers) as JSON on stdin; ' +
        'print {encoder_last_hidden_state, logits} as JSON (teacher-forced forward pass)',
    )
    .requiredOption('--model <dir>', 'model directory in the Hugging Face layout')
    .action(async (opts: { model: string }) => {
      const input = parseLogitsInput(await readStdin());
      const model = loadModelDir(opts.model, { requireTokenizer: false });
      checkTokenIds(input, model.config.vocabSize);
      const runner = await T5Runner.fromWeights(model.config, model.weights, sessionConfigFromEnv());
      try {
        const { encoderStates, logits } = await runner.forward(input.input_ids, input.attention_mask, input.decoder_input_ids);
        process.stdout.write(
          `${JSON.stringify({
            encoder_last_hidden_state: nest(encoderStates.data as Float32Array, encoderStates.dims),
            logits: nest(logits.data as Float32Array, logits.dims),
          })}\n`,
        );
      } finally {
        await runner.release();
      }
    });
}

function parseLogitsInput(text: string): LogitsInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`stdin is not JSON: ${(err as Error).message}`);
  }
  const obj = json as Record<string, unknown>;
  const field = (name: keyof LogitsInput): number[][] => {
    const value = obj?.[name];
    const ok =
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((row) => Array.isArray(row) && row.length === (value[0] as unknown[]).length && row.every(Number.isInteger));
    if (!ok) throw new UsageError(`"${name}" must be a non-empty rectangular array of arrays of integers`);
    return value as number[][];
  };
  const input = { input_ids: field('input_ids'), attention_mask: field('attention_mask'), decoder_input_ids: field('decoder_input_ids') };
  const rows = input.input_ids.length;
  if (input.attention_mask.length !== rows || input.decoder_input_ids.length !== rows) {
    throw new UsageError('input_ids, attention_mask and decoder_input_ids must have the same number of rows');
  }
  if (input.attention_mask[0].length !== input.input_ids[0].length) {
    throw new UsageError('attention_mask must have the shape of input_ids');
  }
  return input;
}

/** An id past the embedding table would reach onnxruntime's Gather and fail there with a stack trace. */
function checkTokenIds(input: LogitsInput, vocabSize: number): void {
  for (const name of ['input_ids', 'decoder_input_ids'] as const) {
    const bad = input[name].flat().find((id) => id < 0 || id >= vocabSize);
    if (bad !== undefined) throw new UsageError(`"${name}" holds ${bad}, outside this model's vocabulary [0, ${vocabSize})`);
  }
}

/** A flat tensor as nested arrays, for JSON. */
function nest(data: Float32Array, dims: readonly number[]): unknown {
  if (dims.length === 1) return Array.from(data);
  const stride = data.length / dims[0];
  return Array.from({ length: dims[0] }, (_, i) => nest(data.subarray(i * stride, (i + 1) * stride), dims.slice(1)));
}
