/**
 * Instruction data as the finetuning API accepts it: JSONL with one example a line, in our own shape
 * ({inputs, targets, rationale?, task?}), OpenAI's chat shape ({messages: [...]}) or its
 * prompt/completion shape. Every line is checked before training starts and all bad lines are
 * reported by number, so a job fails fast with everything the user must fix.
 */
export interface InstructionExample {
  inputs: string;
  targets: string;
  /** A chain-of-thought rationale: CoT templates put it before the answer in the target. */
  rationale?: string;
  /** Task name for the mixture and the templates; examples without one form the task "default". */
  task: string;
  /** 1-based line in the source file, for error messages further down. */
  line: number;
}

export const DEFAULT_TASK = 'default';

export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { line: number; message: string }[],
  ) {
    const shown = problems.slice(0, 10).map((p) => `  line ${p.line}: ${p.message}`);
    const more = problems.length > 10 ? [`  ... and ${problems.length - 10} more bad lines`] : [];
    super([`${file}: ${problems.length} bad line(s)`, ...shown, ...more].join('\n'));
    this.name = 'DataFormatError';
  }
}

export function parseInstructionJsonl(text: string, file = 'data.jsonl'): InstructionExample[] {
  const examples: InstructionExample[] = [];
  const problems: { line: number; message: string }[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const example = readLine(raw, index + 1, problems);
    if (example) examples.push({ ...example, line: index + 1 });
  });
  if (problems.length > 0) throw new DataFormatError(file, problems);
  if (examples.length === 0) throw new DataFormatError(file, [{ line: lines.length, message: 'the file holds no examples' }]);
  return examples;
}

/**
 * Checks a JSONL file as it streams in, line by line, without holding it: the number of examples, or
 * DataFormatError with every bad line, as parseInstructionJsonl reports them.
 */
export async function countInstructionExamples(lines: AsyncIterable<string>, file: string): Promise<number> {
  const problems: { line: number; message: string }[] = [];
  let count = 0;
  let line = 0;
  for await (const raw of lines) {
    if (readLine(raw, ++line, problems)) count++;
  }
  if (problems.length > 0) throw new DataFormatError(file, problems);
  if (count === 0) throw new DataFormatError(file, [{ line, message: 'the file holds no examples' }]);
  return count;
}

/** One line's example; undefined for a blank line, or for a bad one after its problem is recorded. */
function readLine(raw: string, line: number, problems: { line: number; message: string }[]): Omit<InstructionExample, 'line'> | undefined {
  if (raw.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    problems.push({ line, message: `not valid JSON (${(err as Error).message})` });
    return undefined;
  }
  const parsed = toExample(json);
  if (typeof parsed !== 'string') return parsed;
  problems.push({ line, message: parsed });
  return undefined;
}

/** The example, or what is wrong with it. */
function toExample(json: unknown): Omit<InstructionExample, 'line'> | string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'expected a JSON object';
  const o = json as Record<string, unknown>;
  const task = o.task ?? DEFAULT_TASK;
  if (typeof task !== 'string' || task === '') return '"task" must be a non-empty string';
  if ('messages' in o) return fromChat(o.messages, task);
  if ('prompt' in o || 'completion' in o) {
    if (typeof o.prompt !== 'string' || typeof o.completion !== 'string') return '"prompt" and "completion" must both be strings';
    if (o.completion.trim() === '') return '"completion" is empty';
    return { inputs: o.prompt, targets: o.completion, task };
  }
  if (typeof o.inputs !== 'string') return 'expected "inputs" (string), "messages" or "prompt"/"completion"';
  if (typeof o.targets !== 'string' || o.targets.trim() === '') return '"targets" must be a non-empty string';
  if (o.rationale !== undefined && typeof o.rationale !== 'string') return '"rationale" must be a string';
  return { inputs: o.inputs, targets: o.targets, task, ...(typeof o.rationale === 'string' ? { rationale: o.rationale } : {}) };
}

/**
 * A chat becomes one example: the last assistant message is the target and everything before it the
 * input, one "role: content" line per earlier message (system and user turns as plain text).
 */
function fromChat(messages: unknown, task: string): Omit<InstructionExample, 'line'> | string {
  if (!Array.isArray(messages) || messages.length === 0) return '"messages" must be a non-empty array';
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'object' || m === null) return `messages[${i}] is not an object`;
    const { role, content } = m as Record<string, unknown>;
    if (!['system', 'user', 'assistant'].includes(role as string)) return `messages[${i}].role must be system, user or assistant`;
    if (typeof content !== 'string') return `messages[${i}].content must be a string`;
  }
  const typed = messages as { role: string; content: string }[];
  const last = typed[typed.length - 1];
  if (last.role !== 'assistant') return 'the last message must be the assistant\'s answer';
  if (last.content.trim() === '') return 'the assistant\'s answer is empty';
  const context = typed.slice(0, -1);
  if (!context.some((m) => m.role === 'user')) return 'a chat example needs a user message before the answer';
  // A single user turn is the input verbatim; longer chats keep their roles so turns stay distinct.
  const inputs =
    context.length === 1 ? context[0].content : context.map((m) => `${m.role}: ${m.content}`).join('\n');
  return { inputs, targets: last.content, task };
}
