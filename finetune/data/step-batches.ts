import type { Tokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { SeededRandom } from '../../runtime/seeded-random.ts';
import type { TrainBatch } from '../trainer/train-step.ts';
import { packBatch, padBatch, tokenizeExample, type SequenceLimits, type SpecialIds, type TokenizedExample } from './collate.ts';
import type { InstructionExample } from './instruction-example.ts';
import { TaskMixture } from './mixture.ts';
import { renderExample, VERBATIM, type TemplateOptions } from './templates.ts';

export interface BatchPlan extends SequenceLimits {
  /** Rows per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  microBatches: number;
  packed: boolean;
  /** Per-task cap of the examples-proportional mixture. */
  taskCap?: number;
  templates?: TemplateOptions;
}

/**
 * The batches of every step, as a pure function of (seed, step): the mixture, the template choices
 * and the packing all draw from a generator seeded by both. A job resumed at step k therefore sees
 * exactly the batches an unbroken run saw, with nothing but the step to restore.
 */
export class StepBatches {
  private readonly mixture: TaskMixture;

  constructor(
    examples: readonly InstructionExample[],
    private readonly tokenizer: Tokenizer,
    private readonly plan: BatchPlan,
    private readonly ids: SpecialIds,
    private readonly seed: number,
  ) {
    this.mixture = new TaskMixture(examples, plan.taskCap);
  }

  forStep(step: number): TrainBatch[] {
    const rng = SeededRandom.fromSeed(stepSeed(this.seed, step));
    return Array.from({ length: this.plan.microBatches }, () => this.microBatch(rng));
  }

  private draw(rng: SeededRandom): TokenizedExample {
    const example = this.mixture.sample(rng);
    const rendered = renderExample(example, this.mixture.byTask.get(example.task)!, this.plan.templates ?? {}, rng);
    return tokenizeExample(this.tokenizer, rendered, this.plan);
  }

  private microBatch(rng: SeededRandom): TrainBatch {
    if (!this.plan.packed) return padBatch(Array.from({ length: this.plan.batchSize }, () => this.draw(rng)), this.ids);
    // Draw until an example fits in no row (the same first-fit packBatch does, on lengths only);
    // bounded, since each placed example takes at least one token of a row.
    const fill = Array.from({ length: this.plan.batchSize }, () => ({ source: 0, target: 0 }));
    const drawn: TokenizedExample[] = [];
    for (;;) {
      const e = this.draw(rng);
      const row = fill.find((r) => r.source + e.source.length <= this.plan.maxSourceLength && r.target + e.target.length <= this.plan.maxTargetLength);
      if (!row) break;
      row.source += e.source.length;
      row.target += e.target.length;
      drawn.push(e);
    }
    return packBatch(drawn, this.plan.batchSize, this.plan, this.ids).batch;
  }
}

/** Zero-shot, first-template batches of the held-out examples, in order, for evaluation. */
export function heldOutBatches(
  examples: readonly InstructionExample[],
  tokenizer: Tokenizer,
  limits: SequenceLimits,
  ids: SpecialIds,
  batchSize: number,
  templates?: TemplateOptions,
): TrainBatch[] {
  const rng = SeededRandom.fromSeed(0);
  const fixed: TemplateOptions = { ...templates, fewShotRate: 0, cotRate: templates?.cotRate ?? 1 };
  const tokenized = examples.map((e) => tokenizeExample(tokenizer, renderExample(e, [], { ...fixed, templates: { [e.task]: [(templates?.templates?.[e.task] ?? templates?.defaultTemplates ?? [VERBATIM])[0]] } }, rng), limits));
  const batches: TrainBatch[] = [];
  for (let i = 0; i < tokenized.length; i += batchSize) batches.push(padBatch(tokenized.slice(i, i + batchSize), ids));
  return batches;
}

function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) | 0;
}
