/** What a running eval reports after each finished request group (one question, one prompt, one comment). */
export interface EvalProgress {
  done: number;
  total: number;
  /** Seconds left at the rate so far; undefined until something has finished. */
  etaSeconds?: number;
  /** The task the last finished item belonged to. */
  task: string;
}

export type ProgressListener = (progress: EvalProgress) => void;

/** Counts finished items and estimates the time left from the mean rate since the start. */
export class ProgressTracker {
  private done = 0;
  private readonly startedAt: number;

  constructor(
    private readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  tick(task: string): void {
    this.done++;
    if (!this.listener) return;
    const elapsed = (this.now() - this.startedAt) / 1000;
    const etaSeconds = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : undefined;
    this.listener({ done: this.done, total: this.total, task, ...(etaSeconds !== undefined ? { etaSeconds } : {}) });
  }
}
