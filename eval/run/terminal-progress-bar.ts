import type { EvalProgress } from './progress.ts';

const WIDTH = 30;

/**
 * A one-line progress bar redrawn in place on a TTY (a plain line every 5% otherwise, so CI logs stay
 * short). Written to stderr so stdout keeps only results, which `--json` consumers parse.
 */
export class TerminalProgressBar {
  private lastPercentStep = -1;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly label = 'eval',
  ) {}

  update(p: EvalProgress): void {
    const fraction = p.total === 0 ? 1 : p.done / p.total;
    const filled = Math.round(fraction * WIDTH);
    const eta = p.etaSeconds === undefined ? '' : ` ETA ${formatDuration(p.etaSeconds)}`;
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${p.done}/${p.total}${eta} ${p.task}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1).padEnd((this.stream.columns || 100) - 1)}`);
      return;
    }
    const step = Math.floor(fraction * 20);
    if (step !== this.lastPercentStep) {
      this.lastPercentStep = step;
      this.stream.write(`${line}\n`);
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
