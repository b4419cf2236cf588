import type { Command } from 'commander';
import { exportOnnxModel } from '../../runtime/checkpoint/onnx-export.ts';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write the model as ONNX in the layout transformers.js and Optimum load (onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx, configs, tokenizer)')
    .requiredOption('--model <dir>', 'model directory in the Hugging Face layout')
    .requiredOption('--out <dir>', 'output directory')
    .option('--tokenizer <dir>', 'directory holding the tokenizer, when the model directory has none')
    .action((opts: { model: string; out: string; tokenizer?: string }) => {
      const { files } = exportOnnxModel(opts.model, opts.out, { tokenizerDir: opts.tokenizer });
      for (const file of files) process.stdout.write(`${file}\n`);
    });
}
