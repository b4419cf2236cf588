/**
 * Trained phrasings built compositionally, as Flan builds its templates: a family names what it asks
 * (`requests`: imperative verb phrases, `questions`: whole questions, each with its slots) and the
 * generic frames below put each request in many shapes (plain, polite, "can you", data first, as a
 * task). A few hundred phrasings per family from a dozen words each, so how a question is put stops
 * mattering; none is aimed at a held-out phrasing (the split test in test/finetune checks there is
 * no overlap).
 */
export interface PhrasingParts {
  /** Lowercase imperative phrases with the family's slots, e.g. "reverse the words {words}". */
  requests: readonly string[];
  /** Whole questions with slots, as written (capitalised, with their own punctuation). */
  questions?: readonly string[];
  /**
   * Requests that name the data by a noun ("the list", "these numbers"), for the data-first frames:
   * "Numbers: {list}. Sort them." A family without one gets no data-first phrasings.
   */
  dataFirst?: { label: string; slot: string; requests: readonly string[] };
}

/** Every combination of the heads and the tails, joined by a space ("sort" x "these numbers: {list}") or by `separator`. */
export function cross(heads: readonly string[], tails: readonly string[], separator = ' '): string[] {
  return heads.flatMap((head) => tails.map((tail) => `${head}${separator}${tail}`));
}

const capitalise = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

/** Frames of a request `r`, which ends in a slot or a word; punctuation is the frame's. */
const REQUEST_FRAMES: readonly ((r: string) => string)[] = [
  (r) => capitalise(r),
  (r) => `${capitalise(r)}.`,
  (r) => `Please ${r}.`,
  (r) => `Can you ${r}?`,
  (r) => `Could you ${r}, please?`,
  (r) => `I want you to ${r}.`,
  (r) => `Help me ${r}.`,
  (r) => `Task: ${r}.`,
  (r) => `Instruction: ${r}.`,
  (r) => `Your job is to ${r}.`,
  (r) => `Let's ${r}.`,
  (r) => `${capitalise(r)}, please.`,
  (r) => `Kindly ${r}.`,
  (r) => `Now ${r}.`,
  (r) => `Go ahead and ${r}.`,
  (r) => `Try to ${r}.`,
  (r) => `Next, ${r}.`,
  (r) => `${capitalise(r)}!`,
  (r) => `Hey, ${r}?`,
  (r) => `Do this: ${r}.`,
  // Words around the request that ask nothing: the model keys on the request and the data, whatever else is said.
  (r) => `I'd like you to ${r}.`,
  (r) => `Would you ${r}?`,
  (r) => `Just ${r}.`,
  (r) => `Your task: ${r}.`,
  (r) => `Exercise: ${r}.`,
  (r) => `I need you to ${r}.`,
  (r) => `Will you ${r} for me?`,
  (r) => `Quick one: ${r}.`,
  (r) => `My teacher says: ${r}.`,
  (r) => `For my homework, ${r}.`,
  (r) => `Alright, ${r}.`,
  (r) => `Here is a small job: ${r}.`,
  (r) => `Be a dear and ${r}.`,
  (r) => `If you can, ${r}.`,
  (r) => `Someone asked me to ${r}. Can you do it?`,
  (r) => `Without any fuss, ${r}.`,
];

/** Frames with the data given first under its label, then a request about "them". */
const DATA_FIRST_FRAMES: readonly ((label: string, slot: string, r: string) => string)[] = [
  (label, slot, r) => `${label}: ${slot}\n${capitalise(r)}.`,
  (label, slot, r) => `${label}: ${slot}. ${capitalise(r)}.`,
  (label, slot, r) => `${slot}\n${capitalise(r)}.`,
  (label, slot, r) => `Here are the ${label.toLowerCase()}: ${slot}. Please ${r}.`,
  (label, slot, r) => `${label} = ${slot}\nCan you ${r}?`,
  (label, slot, r) => `"${slot}"\n${capitalise(r)}.`,
  (label, slot, r) => `Look at these ${label.toLowerCase()}: ${slot}\nNow ${r}.`,
  (label, slot, r) => `${label.toUpperCase()}: ${slot}\nTASK: ${r}.`,
  (label, slot, r) => `Input: ${slot}\nPlease ${r}.`,
];

/** The phrasings `parts` compose: each request in every frame, the questions, the data-first requests. */
export function composedPhrasings(parts: PhrasingParts): string[] {
  return [
    ...parts.requests.flatMap((r) => REQUEST_FRAMES.map((frame) => frame(r))),
    ...(parts.questions ?? []),
    ...(parts.dataFirst ? parts.dataFirst.requests.flatMap((r) => DATA_FIRST_FRAMES.map((frame) => frame(parts.dataFirst!.label, parts.dataFirst!.slot, r))) : []),
  ];
}

/** A family's trained phrasings: those `listed` by hand and the composed ones, each once. */
export function trainedPhrasings(listed: readonly string[], parts: PhrasingParts): string[] {
  return [...new Set([...listed, ...composedPhrasings(parts)])];
}
