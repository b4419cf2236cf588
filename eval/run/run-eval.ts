import { loadCivilComments } from '../benchmarks/civil-comments-loader.ts';
import { loadRtpPrompts } from '../benchmarks/rtp-loader.ts';
import { syntheticSuite } from '../benchmarks/synthetic-suite.ts';
import { OpenAiCompletionClient, type CompletionClient, type RankScorer } from '../client/completion-client.ts';
import {
  CIVIL_COMMENTS_TASKS,
  evaluateComment,
  FEW_SHOT_EXEMPLARS,
  pickExemplars,
  summarizeCivilCommentsTask,
} from '../toxicity/civil-comments-eval.ts';
import { evaluateRtpPrompt, RTP_DEFAULT_SAMPLING, RTP_TASKS, splitRtpPrompts, summarizeRtpTask } from '../toxicity/rtp-eval.ts';
import { mapBounded } from './bounded-pool.ts';
import type { EvalResult, ExampleRecord, TaskResult } from './eval-result.ts';
import { DEFAULT_CONCURRENCY, EvalUnavailableError, type EvalOptions } from './eval-options.ts';
import { describeReportedSet, summarizeTasks } from './paper-protocol.ts';
import { ProgressTracker, type ProgressListener } from './progress.ts';
import { limited, planQa, type Plan } from './eval-plan.ts';
import { FLAN_TABLE5_SUITE, planFlanTable5 } from './flan-table5.ts';
import { QA_SUITES } from './qa-suites.ts';

export interface RunControls {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Runs one suite in one mode against an endpoint and returns every task's metrics and per-example
 * records. Cancelling through the signal stops new requests, aborts those in flight, and rejects
 * with the signal's reason. All benchmark data is read before the first request, so a bad data
 * directory fails fast.
 */
export async function runEval(options: EvalOptions, controls: RunControls = {}): Promise<EvalResult> {
  const startedAt = new Date().toISOString();
  const client = new OpenAiCompletionClient({ server: options.server, model: options.model, apiKey: options.apiKey });
  const plan = planEval(options, client);
  const progress = new ProgressTracker(plan.items.length, controls.onProgress);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  let records: ExampleRecord[];
  try {
    records = await mapBounded(
      plan.items,
      concurrency,
      async (item) => {
        const record = await item.run(controls.signal);
        progress.tick(item.task);
        return record;
      },
      controls.signal,
    );
  } catch (err) {
    // The client reports an abort in its own error type; callers get the signal's reason, one way.
    if (controls.signal?.aborted) throw controls.signal.reason;
    throw err;
  }
  const tasks: Record<string, TaskResult> = {};
  for (const name of plan.taskNames) {
    tasks[name] = plan.summarize(name, records.filter((_, i) => plan.items[i].task === name));
  }
  return {
    suite: options.suite,
    mode: options.mode,
    model: options.model,
    server: options.server,
    startedAt,
    finishedAt: new Date().toISOString(),
    tasks,
    summary: plan.summarizeRun ? plan.summarizeRun(tasks) : summarizeTasks(options.suite, tasks),
    reportedSet: plan.reportedSet ?? describeReportedSet(options.suite, plan.taskNames),
  };
}

function selected<T extends string>(all: readonly T[], wanted: string[] | undefined, suite: string): T[] {
  if (!wanted || wanted.length === 0) return [...all];
  for (const w of wanted) if (!all.includes(w as T)) throw new EvalUnavailableError(`${suite}: no task "${w}" (have: ${all.join(', ')})`);
  return wanted as T[];
}

function planEval(options: EvalOptions, client: CompletionClient & RankScorer): Plan {
  const { suite } = options;
  if (suite === 'rtp') return planRtp(options, client);
  if (suite === 'civilcomments') return planCivilComments(options, client);
  if (suite === FLAN_TABLE5_SUITE) return planFlanTable5(options, client);
  return planQa(options, client, suite === 'synthetic' ? syntheticSuite : QA_SUITES[suite], { suite, mode: options.mode, dataDir: options.dataDir });
}

function planRtp(options: EvalOptions, client: CompletionClient): Plan {
  const scorer = options.scorer;
  if (!scorer) throw new EvalUnavailableError('RealToxicityPrompts needs a toxicity scorer (Perspective URL, ONNX classifier, or lexicon)');
  const split = splitRtpPrompts(loadRtpPrompts(options.dataDir));
  const taskNames = selected(RTP_TASKS, options.tasks, 'rtp');
  const sampling = { ...RTP_DEFAULT_SAMPLING, ...(options.samples !== undefined ? { samples: options.samples } : {}) };
  const items = taskNames.flatMap((task) =>
    limited(split[task], options.limit).map((prompt) => ({
      task,
      run: (signal?: AbortSignal) => evaluateRtpPrompt(client, scorer, prompt, sampling, signal),
    })),
  );
  return { items, taskNames, summarize: (_, records) => summarizeRtpTask(records) };
}

function planCivilComments(options: EvalOptions, client: CompletionClient & RankScorer): Plan {
  const data = loadCivilComments(options.dataDir);
  const taskNames = selected(CIVIL_COMMENTS_TASKS, options.tasks, 'civilcomments');
  // Without a train file the exemplars come from the head of the scored file and leave the scored set.
  const exemplars = pickExemplars(data.train.length > 0 ? data.train : data.test, FEW_SHOT_EXEMPLARS);
  const scored = data.train.length > 0 ? data.test : data.test.filter((c) => !exemplars.includes(c));
  const items = taskNames.flatMap((task) =>
    limited(scored, options.limit).map((comment) => ({
      task,
      run: (signal?: AbortSignal) => evaluateComment(client, comment, task === 'few-shot' ? exemplars : [], signal, options.scoring === 'rank' ? client : undefined),
    })),
  );
  return { items, taskNames, summarize: (_, records) => summarizeCivilCommentsTask(records) };
}
