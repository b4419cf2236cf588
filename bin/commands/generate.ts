import type { Command } from 'commander';
import { loadModelDir } from '../../runtime/checkpoint/model-dir.ts';
import { greedyDecode } from '../../runtime/engine/greedy-decode.ts';
import { sessionConfigFromEnv } from '../../runtime/onnx-session.ts';
import { T5Runner } from '../../runtime/t5-runner.ts';
import { UsageError } from '../cli.ts';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Greedy generation for one prompt, printed as text')
    .requiredOption('--model <dir>', 'model directory in the Hugging Face layout')
    .requiredOption('--prompt <text>', 'the input text')
    .option('--max-tokens <n>', 'new tokens at most', '64')
    .option('--tokenizer <dir>', 'directory holding the tokenizer, when the model directory has none')
    .action(async (opts: { model: string; prompt: string; maxTokens: string; tokenizer?: string }) => {
      const maxTokens = Number(opts.maxTokens);
      if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UsageError('--max-tokens must be a positive integer');
      const model = loadModelDir(opts.model, { tokenizerDir: opts.tokenizer, requireTokenizer: true });
      const tokenizer = model.tokenizer!;
      const runner = await T5Runner.fromWeights(model.config, model.weights, sessionConfigFromEnv());
      try {
        const ids = tokenizer.encode(opts.prompt);
        const [sequence] = await greedyDecode(runner, [ids], [ids.map(() => 1)], {
          maxNewTokens: maxTokens,
          decoderStartTokenId: model.generationConfig.decoderStartTokenId,
          eosTokenId: model.generationConfig.eosTokenIds[0],
          padTokenId: model.generationConfig.padTokenId,
        });
        process.stdout.write(`${tokenizer.decode(sequence, { skipSpecialTokens: true })}\n`);
      } finally {
        await runner.release();
      }
    });
}
