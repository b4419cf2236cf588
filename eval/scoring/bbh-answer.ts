/**
 * BBH answer extraction (Suzgun et al.'s convention, used by Flan): a CoT output ends with
 * "So the answer is X."; a direct output is the answer itself. Scoring is exact match, after the one
 * normalisation the multiple-choice tasks need: "(B) 05/01/2021" or "B" both mean "(B)".
 */
const ANSWER_IS = /the answer is:?[ \t]*/gi;

/** The answer of a CoT output (its last "the answer is" wins), or null when it never commits to one. */
export function extractBbhCotAnswer(output: string): string | null {
  const matches = [...output.matchAll(ANSWER_IS)];
  const last = matches[matches.length - 1];
  if (!last) return null;
  const answer = cleanAnswer(output.slice(last.index + last[0].length).split('\n')[0]);
  return answer === '' ? null : answer;
}

/** A direct output, or the completion of "Therefore, the answer is". */
export function extractBbhDirectAnswer(output: string): string | null {
  const answer = cleanAnswer(output.trim().split('\n')[0] ?? '');
  return answer === '' ? null : answer;
}

/** The answer ends with its sentence: at a period followed by a space (not a decimal point) or at the end. */
function cleanAnswer(text: string): string {
  return text.trim().split(/\.(?:\s|$)/)[0].trim();
}

const OPTION = /^\(?([A-R])\)(?:\s|$)|^([A-R])$/;

export function bbhAnswerMatches(prediction: string | null, target: string): boolean {
  if (prediction === null) return false;
  if (prediction === target) return true;
  const option = /^\(([A-R])\)$/.exec(target);
  if (!option) return false;
  const m = OPTION.exec(prediction);
  return m !== null && (m[1] ?? m[2]) === option[1];
}

/**
 * The chance of a uniform guess over the question's options: the "Options:" list when the input has
 * one, the task's two labels for the binary tasks without a list (boolean_expressions,
 * sports_understanding, web_of_lies), and 0 for free-form answers (dyck_languages, word_sorting, ...).
 */
export function bbhRandomBaseline(input: string, taskLabels: ReadonlySet<string>): number {
  const options = input.split('Options:')[1];
  if (options !== undefined) {
    const count = options.split('\n').filter((l) => /^\s*(\([A-R]\)|- )/.test(l)).length;
    if (count > 0) return 1 / count;
  }
  return taskLabels.size <= 2 ? 1 / taskLabels.size : 0;
}
