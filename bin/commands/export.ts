import type { Command } from 'commander';
import { writeMergedAdapterDir } from '../../finetune/jobs/model-export.ts';
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

export function registerMergeAdapter(program: Command): void {
  program
    .command('merge-adapter')
    .description('Fold a LoRA adapter (PEFT layout) into its base and write the merged model directory (a full copy that serves without the adapter path)')
    .requiredOption('--base <dir>', 'the base model directory the adapter was trained on')
    .requiredOption('--adapter <dir>', 'adapter directory (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'output model directory')
    .action((opts: { base: string; adapter: string; out: string }) => {
      writeMergedAdapterDir(opts.out, opts.base, opts.adapter);
      process.stdout.write(`${opts.out}\n`);
    });
}
