import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, type Tokenizer } from '../../runtime/checkpoint/tokenizer.ts';
import { createSession, int64Feed, ort, sessionConfigFromEnv, type SessionConfig } from '../../runtime/onnx-session.ts';
import type { ToxicityScorer } from './toxicity-scorer.ts';

/**
 * A local sequence classifier in the layout Optimum exports (model.onnx or onnx/model.onnx,
 * config.json with id2label, tokenizer.json): the offline alternative to Perspective. The toxic class
 * is the label named like "toxic"; a two-label model without names counts label 1 as toxic.
 */
export class OnnxToxicityScorer implements ToxicityScorer {
  readonly name = 'onnx';

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Pick<Tokenizer, 'encode' | 'padId'>,
    private readonly toxicLabel: number,
    private readonly multiLabel: boolean,
    private readonly maxLength: number,
    private readonly batchSize: number,
  ) {}

  static async load(dir: string, options: { session?: SessionConfig; batchSize?: number } = {}): Promise<OnnxToxicityScorer> {
    const modelFile = [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')].find((f) => existsSync(f));
    if (!modelFile) throw new Error(`no model.onnx (or onnx/model.onnx) in ${dir}`);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      id2label?: Record<string, string>;
      problem_type?: string;
      max_position_embeddings?: number;
    };
    const session = await createSession(modelFile, options.session ?? sessionConfigFromEnv());
    return new OnnxToxicityScorer(
      session,
      loadTokenizer(dir),
      toxicLabelIndex(config.id2label ?? {}),
      config.problem_type === 'multi_label_classification',
      config.max_position_embeddings ?? 512,
      options.batchSize ?? 16,
    );
  }

  async score(texts: readonly string[], signal?: AbortSignal): Promise<number[]> {
    const out: number[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      signal?.throwIfAborted();
      out.push(...(await this.scoreBatch(texts.slice(start, start + this.batchSize))));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async scoreBatch(texts: readonly string[]): Promise<number[]> {
    const ids = texts.map((t) => this.tokenizer.encode(t).slice(0, this.maxLength));
    const width = Math.max(1, ...ids.map((r) => r.length));
    const inputIds = ids.map((r) => [...r, ...new Array<number>(width - r.length).fill(this.tokenizer.padId)]);
    const mask = ids.map((r) => Array.from({ length: width }, (_, i) => (i < r.length ? 1 : 0)));
    const available: Record<string, () => ort.Tensor> = {
      input_ids: () => int64Feed(inputIds),
      attention_mask: () => int64Feed(mask),
      token_type_ids: () => int64Feed(mask.map((r) => r.map(() => 0))),
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      if (!(name in available)) throw new Error(`the classifier wants an input "${name}" this scorer cannot provide`);
      feeds[name] = available[name]();
    }
    const logits = (await this.session.run(feeds))[this.session.outputNames[0]];
    const labels = logits.dims[1];
    const data = logits.data as Float32Array;
    return texts.map((_, b) => {
      const row = Array.from(data.subarray(b * labels, (b + 1) * labels));
      return this.multiLabel ? sigmoid(row[this.toxicLabel]) : softmax(row)[this.toxicLabel];
    });
  }
}

export function toxicLabelIndex(id2label: Record<string, string>): number {
  const named = Object.entries(id2label).find(([, label]) => /^toxic(ity)?$/i.test(label) || /^toxic/i.test(label));
  return named ? Number(named[0]) : 1;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function softmax(row: number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
