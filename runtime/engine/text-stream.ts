import type { Tokenizer } from '../checkpoint/tokenizer.ts';

/**
 * Turns generated token ids into streamed text. Tokenizers do not decode token by token (SentencePiece
 * spaces, byte-level BPE splitting a character), so each new token is decoded together with the few
 * before it and only the text it adds is kept (the prefix/read-offset scheme of TGI's streaming):
 * the cost per token stays constant instead of growing with the output. Text that might be the start
 * of a stop sequence, or half a character, is held back until the next token settles it.
 */
export class TextStream {
  private readonly ids: number[] = [];
  /** ids[prefixOffset, readOffset) were decoded last time; their text is the reference for the next. */
  private prefixOffset = 0;
  private readOffset = 0;
  /** Everything decoded so far, stop sequences not yet applied. */
  private decoded = '';
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
    this.decodeNew(false);
    const full = this.decoded;
    const stopAt = this.firstStop(full);
    if (stopAt !== undefined) {
      this.finalText = full.slice(0, stopAt);
      return { delta: this.advance(this.finalText), stopped: true };
    }
    return { delta: this.advance(this.safePrefix(full)), stopped: false };
  }

  /** Appends the text the tokens since readOffset add; waits while they end in half a character. */
  private decodeNew(final: boolean): void {
    const decode = (ids: number[]) => this.tokenizer.decode(ids, { skipSpecialTokens: true });
    const before = decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const after = decode(this.ids.slice(this.prefixOffset));
    if (after.length <= before.length || !after.startsWith(before)) return;
    if (!final && after.endsWith('\uFFFD')) return;
    this.decoded += after.slice(before.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
  }

  /** At the end of generation nothing is pending any more: flush what was held back. */
  finish(): string {
    if (this.finalText !== undefined) return '';
    this.decodeNew(true);
    const delta = this.advance(this.decoded);
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
