import { join } from 'node:path';
import { Tokenizer as HfTokenizerCore } from '@huggingface/tokenizers';
import { ModelLoadError } from './model-load-error.ts';
import { readJsonObjectFile } from './read-json-file.ts';
import type { Tokenizer } from './tokenizer.ts';
import { readTokenizerConfig, specialTokenText, UNKNOWN_TOKEN_SURFACE } from './tokenizer-config.ts';

// A private-use character no T5 piece contains: it carries <unk> through the library's decoder, which
// would otherwise strip a leading space of the surface we substitute afterwards.
const UNK_PLACEHOLDER = '\uE000';

/**
 * A tokenizer.json (Hugging Face tokenizers format) run by @huggingface/tokenizers. Decoding does not
 * go through the library's decode(): that one throws on an empty id list, maps unknown ids to <unk>,
 * and with skip_special_tokens drops <unk> silently, where sentencepiece (which T5's reference
 * outputs come from) renders it as " ⁇ ". We use the library's per-token decoder instead.
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  private readonly unkId: number | undefined;
  private readonly specialIds: Set<number>;

  private constructor(
    private readonly core: HfTokenizerCore,
    config: ReturnType<typeof readTokenizerConfig>,
    file: string,
  ) {
    const idOf = (role: 'pad_token' | 'eos_token'): number => {
      const text = specialTokenText(config, role);
      const id = core.token_to_id(text);
      if (id === undefined) throw new ModelLoadError(file, `${role} "${text}" is not in the vocabulary`);
      return id;
    };
    this.padId = idOf('pad_token');
    this.eosId = idOf('eos_token');
    this.unkId = core.token_to_id(specialTokenText(config, 'unk_token'));
    this.specialIds = new Set([...core.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    let maxId = -1;
    for (const id of core.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  /** Reads <dir>/tokenizer.json and, when present, <dir>/tokenizer_config.json. */
  static load(dir: string): HfTokenizer {
    const file = join(dir, 'tokenizer.json');
    const json = readJsonObjectFile(file);
    const config = readTokenizerConfig(dir);
    let core: HfTokenizerCore;
    try {
      core = new HfTokenizerCore(json, config.json);
    } catch (err) {
      throw new ModelLoadError(file, `not a usable tokenizer: ${(err as Error).message}`);
    }
    return new HfTokenizer(core, config, file);
  }

  encode(text: string, opts?: { addEos?: boolean }): number[] {
    // Append </s> ourselves rather than through the post-processor, so addEos means the same for
    // every tokenizer.json, including ones without T5's TemplateProcessing.
    const ids = this.core.encode(text, { add_special_tokens: false }).ids;
    if (opts?.addEos ?? true) ids.push(this.eosId);
    return ids;
  }

  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string {
    const skipSpecial = opts?.skipSpecialTokens ?? true;
    const tokens: string[] = [];
    for (const id of ids) {
      if (skipSpecial && id === this.unkId) tokens.push(UNK_PLACEHOLDER);
      else if (skipSpecial && this.specialIds.has(id)) continue;
      else {
        const token = this.core.id_to_token(id);
        if (token !== undefined) tokens.push(token);
      }
    }
    // No clean_up_tokenization_spaces: sentencepiece does none, and HF's would turn "a ..." into "a...".
    const text = this.core.decoder ? this.core.decoder.decode(tokens) : tokens.join(' ');
    return text.replaceAll(UNK_PLACEHOLDER, UNKNOWN_TOKEN_SURFACE);
  }

  tokenToId(token: string): number | undefined {
    return this.core.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.core.id_to_token(id);
  }
}
