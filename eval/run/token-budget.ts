/**
 * Output budgets sized from the benchmark's own data. The harness is a client of any endpoint and has
 * no tokenizer, so it bounds instead of counting: every token of a SentencePiece or byte-level BPE
 * vocabulary covers at least one byte of UTF-8, so a text needs at most its byte length in tokens,
 * plus one for the space SentencePiece prefixes to it and one for the end-of-sequence token. A fixed budget (32 direct, 256 CoT) cut 112 of BBH
 * word_sorting's 250 targets and 17 of its 81 published rationales (up to 646 T5 tokens) short.
 */
export function tokenBudgetFor(texts: Iterable<string>, floor = 1): number {
  let longest = 0;
  for (const text of texts) longest = Math.max(longest, Buffer.byteLength(text, 'utf8'));
  return Math.min(OUTPUT_TOKEN_CAP, Math.max(floor, longest + 2));
}

/**
 * The byte bound is loose where a text is mostly digits and symbols (BBH geometric_shapes' SVG paths:
 * 1,799 bytes, 646 T5 tokens), and a server refuses a max_tokens above its own limit (flan-serve's
 * default max_new_tokens is 1024). Every published BBH rationale fits 1024 T5 tokens.
 */
export const OUTPUT_TOKEN_CAP = 1024;
