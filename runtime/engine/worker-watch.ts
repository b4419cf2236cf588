import { wholeNumberFromEnv } from '../config-error.ts';
import type { NativeCallSink } from '../device/native-calls.ts';
import { EngineError } from './engine-api.ts';
import { threadCpuWaitMs } from './thread-priority.ts';

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

/** How long the worker's thread has been silent, and how much of that it spent waiting for a CPU. */
export interface Silence {
  silentMs: number;
  cpuWaitMs: number;
}

/**
 * What the engine worker's thread is doing, in shared memory, so that its client can read it while the
 * thread is blocked (onnxruntime-node runs a session synchronously on the calling thread): how many
 * native calls are in flight, when the thread last showed progress (a turn of its event loop, a
 * native call starting or returning), and the thread's id. The client halts a worker it is stopping:
 * no native call starts after that, so once the ones in flight return, terminating the worker is safe.
 */
export class WorkerWatch implements NativeCallSink {
  private readonly slots: BigInt64Array;
  private readonly threadIds: Int32Array;

  /** Client side: the last beat seen, and the thread's total CPU wait when it was first seen. */
  private seenAliveAt: bigint;
  private cpuWaitAtBeat: number | undefined = 0;

  /**
   * `threadIdBuffer` holds the worker thread's id, written by runtime/worker-bootstrap.mjs before the
   * worker loads anything (0 until then, and where there are no thread ids).
   */
  constructor(
    readonly buffer = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT),
    readonly threadIdBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
  ) {
    this.slots = new BigInt64Array(buffer);
    this.threadIds = new Int32Array(threadIdBuffer);
    this.beat();
    // The client makes its watch before the thread exists: all the thread's waiting comes after this beat.
    this.seenAliveAt = Atomics.load(this.slots, ALIVE_AT);
  }

  /** The worker thread's id (Linux), once it has started. */
  get threadId(): number | undefined {
    return Atomics.load(this.threadIds, 0) || undefined;
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

  /**
   * How long ago the worker's thread last showed progress, and how much of that time it was ready to
   * run but waiting for a CPU: a low-priority engine on a loaded machine is starved, not stuck, and a
   * watchdog that replaced it would drop its requests when the machine is busiest. The wait is counted
   * from the first look after a beat (the client looks every beat interval), so up to one interval's
   * wait counts as silence; where the wait cannot be read (other systems) it is 0.
   */
  silence(now = Date.now()): Silence {
    const aliveAt = Atomics.load(this.slots, ALIVE_AT);
    const tid = this.threadId;
    const cpuWait = tid === undefined ? undefined : threadCpuWaitMs(tid);
    if (aliveAt !== this.seenAliveAt) {
      this.seenAliveAt = aliveAt;
      this.cpuWaitAtBeat = cpuWait;
    }
    const waited = cpuWait === undefined || this.cpuWaitAtBeat === undefined ? 0 : cpuWait - this.cpuWaitAtBeat;
    return { silentMs: now - Number(aliveAt), cpuWaitMs: Math.max(0, waited) };
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
