import { wholeNumberFromEnv } from '../config-error.ts';
import type { NativeCallSink } from '../device/native-calls.ts';
import { EngineError } from './engine-api.ts';

/** How long the engine worker may make no progress (one step, one load) before it is replaced. */
export const DEFAULT_STALL_MS = 300_000;

/** FLAN_ENGINE_STALL_SECONDS: the watchdog's limit (thread-level progress: a step, a load, a turn of its loop). */
export function engineStallMsFromEnv(env: NodeJS.ProcessEnv): number {
  const seconds = wholeNumberFromEnv(env, 'FLAN_ENGINE_STALL_SECONDS', 1);
  return seconds === undefined ? DEFAULT_STALL_MS : seconds * 1000;
}

const CALLS = 0;
const ALIVE_AT = 1;
const HALTED = 2;

/**
 * What the engine worker's thread is doing, in shared memory, so that its client can read it while the
 * thread is blocked (onnxruntime-node runs a session synchronously on the calling thread): how many
 * native calls are in flight, and when the thread last showed progress (a turn of its event loop, a
 * native call starting or returning). The client halts a worker it is stopping: no native call starts
 * after that, so once the ones in flight return, terminating the worker is safe.
 */
export class WorkerWatch implements NativeCallSink {
  private readonly slots: BigInt64Array;

  constructor(readonly buffer = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT)) {
    this.slots = new BigInt64Array(buffer);
    this.beat();
  }

  /** Worker side: the thread is making progress. */
  beat(): void {
    Atomics.store(this.slots, ALIVE_AT, BigInt(Date.now()));
  }

  enter(): void {
    // Counted before the halt is read (the client halts before it reads the count): one of the two
    // always sees the other, so no call starts unseen by a client about to terminate the worker.
    Atomics.add(this.slots, CALLS, 1n);
    if (this.halted) {
      Atomics.sub(this.slots, CALLS, 1n);
      throw new EngineError('unavailable', 'the engine worker is being stopped');
    }
    this.beat();
  }

  exit(): void {
    Atomics.sub(this.slots, CALLS, 1n);
    this.beat();
  }

  /** Client side: native calls in flight now. */
  get nativeCalls(): number {
    return Number(Atomics.load(this.slots, CALLS));
  }

  /** How long ago the worker's thread last showed progress. */
  silentForMs(now = Date.now()): number {
    return now - Number(Atomics.load(this.slots, ALIVE_AT));
  }

  get halted(): boolean {
    return Atomics.load(this.slots, HALTED) === 1n;
  }

  halt(): void {
    Atomics.store(this.slots, HALTED, 1n);
  }

  /** Waits until no native call is in flight: true, or false when one still is after `timeoutMs`. */
  async settled(timeoutMs: number, pollMs = 20): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.nativeCalls > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return true;
  }
}
