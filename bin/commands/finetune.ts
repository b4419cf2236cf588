import type { Command } from 'commander';
import { DataFormatError } from '../../finetune/data/instruction-example.ts';
import { runTraining, type TrainingSpec } from '../../finetune/jobs/training-run.ts';
import type { MethodConfig, OptimizerConfig } from '../../finetune/trainer/trainer.ts';
import { TerminalProgressBar } from '../../eval/run/terminal-progress-bar.ts';
import { basename, resolve } from 'node:path';
import { intraOpThreads, sessionConfigFromEnv } from '../../runtime/onnx-session.ts';
import { VersionError, VersionStore, versionStorePath } from '../../runtime/versions/version-store.ts';
import { UsageError } from '../cli.ts';

interface FinetuneFlags {
  model: string;
  data: string;
  out: string;
  steps: string;
  method: string;
  loraRank: string;
  loraAlpha: string;
  loraTargets: string;
  optimizer: string;
  lr: string;
  batchSize: string;
  gradAccum: string;
  maxSourceLength: string;
  maxTargetLength: string;
  pack: boolean;
  fewShot: string;
  taskCap?: string;
  maxGradNorm: string;
  heldOut: string;
  checkpointEvery: string;
  seed: string;
  progress: boolean;
  json: boolean;
  publish?: string;
  name?: string;
  activate: boolean;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not "${value}"`);
  return n;
}

function fraction(flag: string, value: string, max = 1): number {
  const n = Number(value);
  if (!(n >= 0 && n <= max)) throw new UsageError(`${flag} must be a number from 0 to ${max}, not "${value}"`);
  return n;
}

export function specFromFlags(f: FinetuneFlags): TrainingSpec {
  const lr = Number(f.lr);
  if (!(lr > 0)) throw new UsageError(`--lr must be a positive number, not "${f.lr}"`);
  let method: MethodConfig;
  if (f.method === 'full') method = { kind: 'full' };
  else if (f.method === 'lora') {
    const targets = f.loraTargets.split(',').map((t) => t.trim()).filter(Boolean);
    method = { kind: 'lora', lora: { rank: positiveInt('--lora-rank', f.loraRank), alpha: Number(f.loraAlpha), targets } };
  } else throw new UsageError(`--method must be full or lora, not "${f.method}"`);
  let optimizer: OptimizerConfig;
  if (f.optimizer === 'adafactor') optimizer = { kind: 'adafactor', lr };
  else if (f.optimizer === 'adamw') optimizer = { kind: 'adamw', lr };
  else throw new UsageError(`--optimizer must be adafactor or adamw, not "${f.optimizer}"`);
  return {
    baseModelDir: f.model,
    trainingFile: f.data,
    method,
    optimizer,
    steps: positiveInt('--steps', f.steps),
    batch: {
      batchSize: positiveInt('--batch-size', f.batchSize),
      microBatches: positiveInt('--grad-accum', f.gradAccum),
      packed: f.pack,
      maxSourceLength: positiveInt('--max-source-length', f.maxSourceLength),
      maxTargetLength: positiveInt('--max-target-length', f.maxTargetLength),
      templates: { fewShotRate: fraction('--few-shot', f.fewShot) },
      ...(f.taskCap ? { taskCap: positiveInt('--task-cap', f.taskCap) } : {}),
    },
    maxGradNorm: Number(f.maxGradNorm),
    seed: Number(f.seed) | 0,
    heldOutFraction: fraction('--held-out', f.heldOut, 0.9),
    checkpointEvery: positiveInt('--checkpoint-every', f.checkpointEvery),
    threads: intraOpThreads(sessionConfigFromEnv().threads),
  };
}

export function registerFinetune(program: Command): void {
  program
    .command('finetune')
    .description('Finetune a model on instruction data (JSONL) in the foreground; rerun with the same --out to resume')
    .requiredOption('--model <dir>', 'base model directory in the Hugging Face layout (with its tokenizer)')
    .requiredOption('--data <file>', 'JSONL: {inputs, targets, rationale?, task?}, {messages} or {prompt, completion} per line')
    .requiredOption('--out <dir>', 'working directory: checkpoints, and the finetuned model in <out>/model')
    .option('--steps <n>', 'optimizer steps', '100')
    .option('--method <full|lora>', 'full finetuning or LoRA', 'full')
    .option('--lora-rank <r>', 'LoRA rank', '8')
    .option('--lora-alpha <a>', 'LoRA alpha (scale = alpha / rank)', '16')
    .option('--lora-targets <list>', 'LoRA target modules', 'q,v')
    .option('--optimizer <adafactor|adamw>', 'optimizer (constant learning rate)', 'adafactor')
    .option('--lr <rate>', 'learning rate', '1e-3')
    .option('--batch-size <n>', 'rows per micro-batch', '8')
    .option('--grad-accum <n>', 'micro-batches per step', '1')
    .option('--max-source-length <n>', 'input tokens per row', '512')
    .option('--max-target-length <n>', 'target tokens per row', '128')
    .option('--pack', 'pack several examples per row', false)
    .option('--few-shot <fraction>', 'fraction of examples rendered few-shot', '0')
    .option('--task-cap <n>', 'per-task cap of the examples-proportional mixture')
    .option('--max-grad-norm <x>', 'clip gradients to this global norm', '1')
    .option('--held-out <fraction>', 'fraction of examples held out for evaluation', '0.1')
    .option('--checkpoint-every <n>', 'steps between checkpoints', '50')
    .option('--seed <n>', 'seed for data order, templates and LoRA init', '0')
    .option('--no-progress', 'no progress bar on stderr')
    .option('--json', 'print each event as one JSON line on stdout', false)
    .option('--publish <store-dir>', "register the result in this version store (the replicas' FLAN_STORE_DIR): they serve it by name")
    .option('--name <id>', 'the name it is served by (default: ft:<model dir>:cli:<out dir>)')
    .option('--activate', "with --publish: also point the base model's served name at it", false)
    .action(async (flags: FinetuneFlags) => {
      const spec = specFromFlags(flags);
      const bar = flags.progress ? new TerminalProgressBar(process.stderr, 'finetune') : undefined;
      try {
        const result = await runTraining(spec, flags.out, (e) => {
          if (flags.json) process.stdout.write(`${JSON.stringify(e)}\n`);
          if (e.type === 'step') bar?.update({ done: e.step, total: spec.steps, etaSeconds: e.etaSeconds, task: `loss ${e.loss.toFixed(4)} ${Math.round(e.tokensPerSecond)} tok/s` });
        });
        bar?.finish();
        const loss = result.heldOutLoss === null ? '' : ` (held-out loss ${result.heldOutLoss.toFixed(4)})`;
        if (!flags.json) process.stdout.write(`${result.modelDir}${loss}\n`);
        if (flags.publish) {
          const id = publish(flags, result);
          if (!flags.json) process.stdout.write(`published as ${id}${flags.activate ? ' (active)' : ''}\n`);
        }
      } catch (err) {
        bar?.finish();
        if (err instanceof DataFormatError) throw new UsageError(err.message);
        throw err;
      }
    });
}

/**
 * Registers a finished model in a version store, so that every replica reading it serves the model by
 * name (and under its base's name with --activate). A rerun with the same --out finds it registered.
 */
function publish(flags: FinetuneFlags, result: { modelDir: string; heldOutLoss: number | null }): string {
  const store = VersionStore.open(versionStorePath(resolve(flags.publish!)));
  try {
    const id = flags.name ?? `ft:${basename(resolve(flags.model))}:cli:${basename(resolve(flags.out))}`;
    if (!store.get(id)) store.add({ id, parentDir: resolve(flags.model), modelDir: resolve(result.modelDir), jobId: null, heldOutLoss: result.heldOutLoss });
    if (flags.activate) store.activate(id);
    return id;
  } catch (err) {
    if (err instanceof VersionError) throw new UsageError(err.message);
    throw err;
  } finally {
    store.close();
  }
}
