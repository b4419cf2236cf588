import type { Tokenizer } from '../checkpoint/tokenizer.ts';

/**
 * Turns generated token ids into streamed text. Tokenizers do not decode token by token (SentencePiece
 * spaces, byte-level BPE splitting a character), so the whole sequence is decoded and the new suffix
 * emitted. Text that might be the start of a stop sequence, or half a character, is held back until
 * the next token settles it.
 */
export class TextStream {
  private readonly ids: number[] = [];
  private emitted = '';
  private finalText: string | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly stop: readonly string[],
  ) {}

  get text(): string {
    return this.finalText ?? this.emitted;
  }

  get stopped(): boolean {
    return this.finalText !== undefined;
  }

  /** Adds a token; returns the text now safe to emit and whether a stop sequence was reached. */
  push(tokenId: number): { delta: string; stopped: boolean } {
    this.ids.push(tokenId);
    const full = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    const stopAt = this.firstStop(full);
    if (stopAt !== undefined) {
      this.finalText = full.slice(0, stopAt);
      return { delta: this.advance(this.finalText), stopped: true };
    }
    return { delta: this.advance(this.safePrefix(full)), stopped: false };
  }

  /** At the end of generation nothing is pending any more: flush what was held back. */
  finish(): string {
    if (this.finalText !== undefined) return '';
    const full = this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    const delta = this.advance(full);
    this.finalText = this.emitted;
    return delta;
  }

  private advance(target: string): string {
    // Decoding more tokens can rewrite the tail (a byte sequence completing a character); emit only
    // once the new text extends what was already sent.
    if (!target.startsWith(this.emitted)) return '';
    const delta = target.slice(this.emitted.length);
    this.emitted = target;
    return delta;
  }

  private firstStop(full: string): number | undefined {
    let first: number | undefined;
    for (const s of this.stop) {
      if (!s) continue;
      const at = full.indexOf(s, Math.max(0, this.emitted.length - s.length));
      if (at !== -1 && (first === undefined || at < first)) first = at;
    }
    return first;
  }

  private safePrefix(full: string): string {
    let end = full.length;
    while (end > 0 && full[end - 1] === '\uFFFD') end--;
    let hold = 0;
    for (const s of this.stop) {
      for (let k = Math.min(s.length - 1, end); k > hold; k--) {
        if (full.slice(end - k, end) === s.slice(0, k)) {
          hold = k;
          break;
        }
      }
    }
    return full.slice(0, end - hold);
  }
}
