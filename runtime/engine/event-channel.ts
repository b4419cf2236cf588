/**
 * A single-consumer async queue: the scheduler pushes events as it decides them, the caller iterates.
 * Breaking out of the loop (or throwing inside it) calls onAbandon, so the request is cancelled.
 * onEnd runs once, when the stream ends either way.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private failing: ((e: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;

  constructor(
    private readonly onAbandon: () => void,
    private readonly onEnd?: () => void,
  ) {}

  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failing = undefined;
      resolve({ value, done: false });
    } else {
      this.buffered.push(value);
    }
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.close();
    this.error = error;
    if (!this.waiting) return;
    const [resolve, reject] = [this.waiting, this.failing!];
    this.waiting = this.failing = undefined;
    if (error !== undefined) reject(error);
    else resolve({ value: undefined, done: true });
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffered.length) return Promise.resolve({ value: this.buffered.shift()!, done: false });
        if (this.ended) {
          return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failing = reject;
        });
      },
      return: () => {
        if (!this.ended) {
          this.onAbandon();
          this.close();
        }
        this.buffered.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
