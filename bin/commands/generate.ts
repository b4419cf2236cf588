import type { Command } from 'commander';
import { createEngine, DEFAULT_LIMITS } from '../../runtime/engine/engine-core.ts';
import { UsageError } from '../cli.ts';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Greedy generation for one prompt, printed as text as it is generated (the engine the server runs, on FLAN_DEVICE)')
    .requiredOption('--model <dir>', 'model directory in the Hugging Face layout')
    .requiredOption('--prompt <text>', 'the input text')
    .option('--max-tokens <n>', 'new tokens at most', '64')
    .option('--tokenizer <dir>', 'directory holding the tokenizer, when the model directory has none')
    .action(async (opts: { model: string; prompt: string; maxTokens: string; tokenizer?: string }) => {
      const maxTokens = Number(opts.maxTokens);
      if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UsageError('--max-tokens must be a positive integer');
      // The serving engine, so that the command decodes as a request does: on a GPU device the KV cache
      // stays there, the screened head picks f32's greedy tokens, every end-of-sequence id ends the text.
      const engine = await createEngine({
        modelDir: opts.model,
        tokenizerDir: opts.tokenizer,
        limits: { maxNewTokens: Math.max(DEFAULT_LIMITS.maxNewTokens, maxTokens), maxBatchSequences: 1 },
      });
      try {
        for await (const event of engine.generate({ prompt: opts.prompt, sampling: { maxTokens, temperature: 0 } })) {
          if (event.type === 'token') process.stdout.write(event.text);
        }
        process.stdout.write('\n');
      } finally {
        await engine.close(0);
      }
    });
}
