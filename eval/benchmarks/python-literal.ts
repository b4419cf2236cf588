/**
 * Reads one Python literal (dicts, lists, strings with adjacent-string concatenation, numbers) from
 * Python source. MGSM ships its translated exemplars only as `exemplars.py`, a module of such
 * literals; reading the published file as-is beats asking users to convert it.
 */
export type PyValue = string | number | PyValue[] | { [key: string]: PyValue };

export function readPythonAssignment(source: string, name: string): PyValue {
  const m = new RegExp(`^${name}\\s*=\\s*`, 'm').exec(source);
  if (!m) throw new Error(`no "${name} = ..." assignment`);
  const parser = new LiteralParser(source, m.index + m[0].length);
  return parser.value();
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '\n': '' };

class LiteralParser {
  constructor(
    private readonly src: string,
    private pos: number,
  ) {}

  value(): PyValue {
    this.skip();
    const c = this.src[this.pos];
    if (c === '{') return this.dict();
    if (c === '[') return this.list(']');
    if (c === '(') return this.parenthesized();
    if (c === '"' || c === "'") return this.strings();
    const num = /^-?\d+(\.\d+)?/.exec(this.src.slice(this.pos, this.pos + 40));
    if (num) {
      this.pos += num[0].length;
      return Number(num[0]);
    }
    throw this.error('a literal');
  }

  private dict(): { [key: string]: PyValue } {
    this.pos++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.skip();
      if (this.eat('}')) return out;
      const key = this.value();
      this.skip();
      if (!this.eat(':')) throw this.error('":"');
      out[String(key)] = this.value();
      this.skip();
      if (!this.eat(',') && this.src[this.pos] !== '}') throw this.error('"," or "}"');
    }
  }

  private list(close: string): PyValue[] {
    this.pos++;
    const out: PyValue[] = [];
    for (;;) {
      this.skip();
      if (this.eat(close)) return out;
      out.push(this.value());
      this.skip();
      if (!this.eat(',') && this.src[this.pos] !== close) throw this.error(`"," or "${close}"`);
    }
  }

  /** Either a tuple or, as in exemplars.py, strings wrapped in parentheses to span lines. */
  private parenthesized(): PyValue {
    const items = this.list(')');
    return items.length === 1 ? items[0] : items;
  }

  private strings(): string {
    let out = '';
    for (;;) {
      this.skip();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") return out;
      out += this.string(quote);
    }
  }

  private string(quote: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.src[this.pos++];
      if (c === undefined || c === '\n') {
        this.pos--;
        throw this.error('the closing quote');
      }
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.src[this.pos++];
      if (e === 'u' || e === 'x' || e === 'U') {
        const width = e === 'u' ? 4 : e === 'x' ? 2 : 8;
        out += String.fromCodePoint(parseInt(this.src.slice(this.pos, this.pos + width), 16));
        this.pos += width;
      } else if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
      } else {
        out += `\\${e}`;
      }
    }
  }

  private skip(): void {
    for (;;) {
      const ws = /^(\s+|#[^\n]*)/.exec(this.src.slice(this.pos, this.pos + 500));
      if (!ws) return;
      this.pos += ws[0].length;
    }
  }

  private eat(c: string): boolean {
    if (this.src[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private error(expected: string): Error {
    const line = this.src.slice(0, this.pos).split('\n').length;
    return new Error(`expected ${expected} at line ${line}`);
  }
}
