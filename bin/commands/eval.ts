import type { Command } from 'commander';
import { APIConnectionError, APIError } from 'openai';
import { BenchmarkDataError } from '../../eval/benchmarks/read-text.ts';
import { SUITES, type Suite } from '../../eval/benchmarks/types.ts';
import { MODES, type Mode } from '../../eval/prompting/modes.ts';
import { PromptUnavailableError } from '../../eval/prompting/prompt-unavailable-error.ts';
import { writeRunReport } from '../../eval/report/write-report.ts';
import { EvalUnavailableError, SCORINGS, type EvalOptions, type Scoring } from '../../eval/run/eval-options.ts';
import { metricsByTask } from '../../eval/run/eval-result.ts';
import { runEval } from '../../eval/run/run-eval.ts';
import { TerminalProgressBar } from '../../eval/run/terminal-progress-bar.ts';
import { createScorer, SCORER_KINDS, type ScorerKind } from '../../eval/toxicity/scorer-from-options.ts';
import { UsageError } from '../cli.ts';

interface EvalFlags {
  server: string;
  model: string;
  suite: string;
  data?: string;
  tasks?: string;
  mode: string;
  json?: boolean;
  apiKey?: string;
  limit?: string;
  concurrency?: string;
  samples?: string;
  temperature?: string;
  out?: string;
  scorer: string;
  scoring: string;
  perspectiveUrl?: string;
  perspectiveKey?: string;
  classifier?: string;
  progress: boolean;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not "${value}"`);
  return n;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!allowed.includes(value as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a model behind an OpenAI-compatible endpoint on a benchmark suite')
    .requiredOption('--server <url>', 'the endpoint: our server root or any OpenAI-compatible /v1 base')
    .requiredOption('--model <id>', 'the model id to send')
    .requiredOption('--suite <suite>', SUITES.join('|'))
    .option('--data <dir>', 'the benchmark directory, in its public layout')
    .option('--tasks <list>', 'comma-separated tasks (BBH tasks, MMLU subjects, languages, toxic/non-toxic, zero-shot/few-shot)')
    .option('--mode <mode>', MODES.join('|'), 'direct')
    .option('--json', 'print the per-task metrics as one JSON object on the last line of stdout')
    .option('--api-key <key>', 'bearer key for the endpoint (default: $OPENAI_API_KEY)')
    .option('--limit <n>', 'the first N examples of each task')
    .option('--concurrency <n>', 'requests in flight at once', '4')
    .option('--samples <k>', 'samples per question (cot-sc) or per prompt (rtp)')
    .option('--temperature <t>', 'sampling temperature for cot-sc')
    .option('--out <dir>', 'write result.json and report.html here')
    .option('--scoring <how>', `${SCORINGS.join('|')}: rank scores MMLU direct and CivilComments by candidate log-likelihood (flan-serve's /v1/flan/score)`, 'generate')
    .option('--scorer <kind>', `toxicity scorer for rtp: ${SCORER_KINDS.join('|')}`, 'perspective')
    .option('--perspective-url <url>', 'Perspective-compatible service (default: $PERSPECTIVE_API_URL)')
    .option('--perspective-key <key>', 'its key (default: $PERSPECTIVE_API_KEY)')
    .option('--classifier <dir>', 'ONNX toxicity classifier directory, for --scorer onnx')
    .option('--no-progress', 'no progress bar on stderr')
    .action(async (flags: EvalFlags) => {
      const suite: Suite = oneOf(flags.suite, SUITES, '--suite');
      const mode: Mode = oneOf(flags.mode, MODES, '--mode');
      const scoring: Scoring = oneOf(flags.scoring, SCORINGS, '--scoring');
      if (!flags.data && suite !== 'synthetic') throw new UsageError('--data <dir> is required');
      const temperature = flags.temperature === undefined ? undefined : Number(flags.temperature);
      if (temperature !== undefined && !(temperature >= 0)) throw new UsageError('--temperature must be a number >= 0');
      const apiKey = flags.apiKey ?? process.env.OPENAI_API_KEY;
      const options: EvalOptions = {
        server: flags.server,
        model: flags.model,
        suite,
        mode,
        scoring,
        dataDir: flags.data ?? '',
        ...(apiKey ? { apiKey } : {}),
        ...(flags.tasks ? { tasks: flags.tasks.split(',').map((t) => t.trim()).filter(Boolean) } : {}),
        ...(flags.limit ? { limit: positiveInt(flags.limit, '--limit') } : {}),
        concurrency: positiveInt(flags.concurrency, '--concurrency'),
        ...(flags.samples ? { samples: positiveInt(flags.samples, '--samples') } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
      };
      if (suite === 'rtp') {
        const kind: ScorerKind = oneOf(flags.scorer, SCORER_KINDS, '--scorer');
        const perspectiveUrl = flags.perspectiveUrl ?? process.env.PERSPECTIVE_API_URL;
        const perspectiveKey = flags.perspectiveKey ?? process.env.PERSPECTIVE_API_KEY;
        try {
          options.scorer = await createScorer({ kind, perspectiveUrl, perspectiveKey, classifierDir: flags.classifier });
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      const bar = flags.progress ? new TerminalProgressBar(process.stderr, `${suite}/${mode}`) : undefined;
      const controller = new AbortController();
      const onSignal = () => controller.abort(new UsageError('interrupted'));
      process.once('SIGINT', onSignal);
      try {
        const result = await runEval(options, { signal: controller.signal, onProgress: (p) => bar?.update(p) });
        bar?.finish();
        if (flags.out) {
          const paths = writeRunReport(result, flags.out);
          process.stderr.write(`wrote ${paths.json} and ${paths.html}\n`);
        }
        // Which tasks the number covers and how they are averaged (the paper's sets), in every report.
        if (result.reportedSet) (flags.json ? process.stderr : process.stdout).write(`covers ${result.reportedSet}\n`);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(metricsByTask(result))}\n`);
        } else {
          for (const [task, metrics] of Object.entries(metricsByTask(result))) process.stdout.write(`${task}\t${formatMetrics(metrics)}\n`);
          process.stdout.write(`mean\t${formatMetrics(result.summary)}\n`);
        }
      } catch (err) {
        if (err instanceof BenchmarkDataError || err instanceof PromptUnavailableError || err instanceof EvalUnavailableError) {
          throw new UsageError(err.message);
        }
        // The server being down or refusing the key is the user's to fix, not a bug: one line.
        if (err instanceof APIConnectionError) throw new UsageError(`cannot reach ${flags.server}: ${err.message}`);
        if (err instanceof APIError) throw new UsageError(`${flags.server} answered ${err.status ?? 'an error'}: ${err.message}`);
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        await options.scorer?.close?.();
      }
    });
}

function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(' ');
}
