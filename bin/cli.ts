import { Command, CommanderError } from 'commander';
import { ModelLoadError } from '../runtime/checkpoint/model-load-error.ts';
import { ConfigError } from '../runtime/config-error.ts';
import { EngineError } from '../runtime/engine/engine-api.ts';
import { registerDevices } from './commands/devices.ts';
import { registerEval } from './commands/eval.ts';
import { registerExport, registerMergeAdapter } from './commands/export.ts';
import { registerFinetune } from './commands/finetune.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerLogits } from './commands/logits.ts';
import { registerServe } from './commands/serve.ts';

/** Errors a user can act on are printed as one line; anything else keeps its stack for a bug report. */
export class UsageError extends Error {}

export function buildProgram(): Command {
  const program = new Command('flan-serve')
    .description('Serve and continually finetune Flan (T5-family) encoder-decoders behind an OpenAI-style API')
    .exitOverride()
    .showHelpAfterError();
  registerLogits(program);
  registerGenerate(program);
  registerExport(program);
  registerMergeAdapter(program);
  registerEval(program);
  registerServe(program);
  registerFinetune(program);
  registerDevices(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ModelLoadError || err instanceof UsageError || err instanceof ConfigError || err instanceof EngineError) {
      process.stderr.write(`flan-serve: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
