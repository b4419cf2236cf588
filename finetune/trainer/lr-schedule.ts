/**
 * Learning-rate schedule as a factor of the optimizer's base rate: linear warm-up over `warmupSteps`,
 * then cosine decay to `minRatio` at `decaySteps`, flat after. Without a schedule the rate is constant
 * (the paper's finetuning). A pure function of the step, so a resumed run follows it exactly.
 */
export interface LrSchedule {
  warmupSteps?: number;
  /** Step at which the decay reaches minRatio; no decay when absent. */
  decaySteps?: number;
  /** Final rate as a fraction of the base rate (default 0.1). */
  minRatio?: number;
}

/** The factor for update number `step` (1-based, as optimizers count their updates). */
export function lrFactor(schedule: LrSchedule | undefined, step: number): number {
  if (!schedule) return 1;
  const warmup = schedule.warmupSteps ?? 0;
  if (step <= warmup) return step / warmup;
  const { decaySteps } = schedule;
  if (decaySteps === undefined || decaySteps <= warmup) return 1;
  const minRatio = schedule.minRatio ?? 0.1;
  const progress = Math.min(1, (step - warmup) / (decaySteps - warmup));
  return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
