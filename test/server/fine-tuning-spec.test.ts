import { describe, expect, it } from 'vitest';
import { VERBATIM } from '../../finetune/data/templates.ts';
import { planJob } from '../../server/fine-tuning-spec.ts';
import type { components } from '../../openapi/types.gen.ts';

type JobRequest = components['schemas']['FineTuningJobRequest'];

describe('planJob', () => {
  const resolved = { baseModelDir: 'm', trainingFile: 'f.jsonl', examples: 100 };

  it('keeps uploaded inputs verbatim with flan.templates none, and Flan templates by default', () => {
    expect(planJob({ model: 'm', training_file: 'file-1' }, resolved).spec.batch.templates).toBeUndefined();
    const verbatim = planJob({ model: 'm', training_file: 'file-1', flan: { templates: 'none' } } as JobRequest, resolved).spec.batch.templates;
    expect(verbatim).toEqual({ defaultTemplates: [VERBATIM] });
    // The plan crosses to the training process as JSON.
    expect(JSON.parse(JSON.stringify(verbatim))).toEqual(verbatim);
  });

  it('resolves steps from epochs over the examples that train, and the rate from the multiplier', () => {
    const plan = planJob({ model: 'm', training_file: 'file-1', hyperparameters: { n_epochs: 2, batch_size: 10, learning_rate_multiplier: 2 } }, resolved);
    expect(plan.spec.steps).toBe(18); // 90 train after 10% held out, 2 epochs, 10 a step
    expect(plan.spec.optimizer).toEqual({ kind: 'adafactor', lr: 2e-3 });
  });

  it('turns warmup_steps and lr_decay into the optimizer schedule, decaying over the job', () => {
    const plan = planJob({ model: 'm', training_file: 'file-1', flan: { steps: 40, warmup_steps: 5, lr_decay: 'cosine' } } as JobRequest, resolved);
    expect(plan.spec.optimizer).toEqual({ kind: 'adafactor', lr: 1e-3, schedule: { warmupSteps: 5, decaySteps: 40, minRatio: 0.1 } });
  });
});
