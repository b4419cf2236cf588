import type { Tokenizer } from '../../runtime/checkpoint/tokenizer.ts';

/** A character tokenizer over a 64-id vocabulary (0 pad, 1 </s>), enough to drive the data pipeline. */
export const charTokenizer: Tokenizer = {
  vocabSize: 64,
  padId: 0,
  eosId: 1,
  encode: (text, opts) => [...[...text].map((c) => 2 + (c.charCodeAt(0) % 62)), ...(opts?.addEos === false ? [] : [1])],
  decode: (ids) => ids.filter((i) => i > 1).map((i) => String.fromCharCode(i - 2 + 62)).join(''),
  tokenToId: () => undefined,
  idToToken: () => undefined,
};
