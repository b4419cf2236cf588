import v8 from 'node:v8';
import vm from 'node:vm';
import koffi from 'koffi';
import { wholeNumberFromEnv } from './config-error.ts';

/**
 * glibc keeps what onnxruntime and V8 free in its per-thread arenas: after a model load (the checkpoint,
 * the serialized graphs and onnxruntime's unpacked weights are all freed) and after a burst of requests,
 * hundreds of MiB stay resident though nothing uses them. malloc_trim(0) hands every whole free page
 * back to the kernel. Called through koffi (FFI); where libc is not glibc there is nothing to call.
 */
let mallocTrim: ((pad: number) => number) | null | undefined;

/** A glibc function through koffi; null on other platforms and libcs (musl keeps nothing the same way). */
function loadLibc<F>(bind: (lib: ReturnType<typeof koffi.load>) => F): F | null {
  if (process.platform !== 'linux') return null;
  try {
    return bind(koffi.load('libc.so.6'));
  } catch {
    return null;
  }
}

function loadMallocTrim(): ((pad: number) => number) | null {
  return loadLibc((lib) => lib.func('int malloc_trim(size_t pad)') as (pad: number) => number);
}

type GcFunction = (options?: { type: 'major' | 'minor' }) => void;
let gcFunction: GcFunction | undefined;

/** V8's `gc`, exposed only with --expose-gc; the flag set at run time shows it to a fresh context. */
function v8Gc(): GcFunction {
  if (!gcFunction) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as GcFunction;
  }
  return gcFunction;
}

/**
 * A full V8 collection. An idle server allocates nothing, so V8 never collects on its own what a model
 * load left behind: the checkpoint's arrays (~300 MiB at flan-t5-small) stayed resident, and no trim
 * can give back pages that uncollected arrays still hold (a served model idled at 892 MiB, 599 with
 * this).
 */
export function collectGarbage(): void {
  const fullCollection = v8Gc();
  fullCollection();
  // V8 frees a dead array's memory on a background thread after the collection returns, and a trim
  // before that thread ran gives none of it back (on a busy machine a model load idled at 777-880 MiB
  // instead of 625). A second collection first waits for that sweep to finish.
  fullCollection();
}

/** Bytes of run outputs handed to JavaScript since the last young-generation collection. */
let outputBytesSinceCollection = 0;
/** Handed-back output bytes that call for a young-generation collection before the next run. */
const YOUNG_COLLECTION_BYTES = 8 * 2 ** 20;

/** A run handed `bytes` of outputs to JavaScript (onnxruntime-node makes each a fresh ArrayBuffer). */
export function outputsHandedBack(bytes: number): void {
  outputBytesSinceCollection += bytes;
}

/**
 * Before a run: once `YOUNG_COLLECTION_BYTES` of outputs have been handed back, a young-generation
 * collection frees those of earlier runs that are dead by now (a step's new keys and values once the
 * cache holds them, ~1 MiB a step at batch 32 on flan-t5-small; an encoder pass's copy of the cross K/V
 * it wrote in place). Their wrappers are small, so the young generation fills slowly and V8 left them
 * allocated for many steps; before the next run they are still young, where a later collection would
 * find them promoted and only a full one would free them. In-process, 32 concurrent requests of 64 + 64
 * tokens, three bursts, old and new code alternating: peak RSS 669-673 vs 682-685 MiB and 760-764 vs
 * 778-779 (two processes of the same code differ by up to ~90 MiB; why was not found).
 */
export function collectDeadOutputs(): void {
  if (outputBytesSinceCollection < YOUNG_COLLECTION_BYTES) return;
  outputBytesSinceCollection = 0;
  v8Gc()({ type: 'minor' });
}

/** Collects garbage and returns freed heap pages to the kernel; true when there was a malloc_trim to call. */
export function returnFreedMemory(): boolean {
  collectGarbage();
  mallocTrim ??= loadMallocTrim();
  if (!mallocTrim) return false;
  mallocTrim(0);
  return true;
}

/** FLAN_FREED_MEMORY_SECONDS: how long an idle engine keeps what a burst freed (0 = it goes back after a second's pause). */
export function freedMemoryKeepMsFromEnv(env: NodeJS.ProcessEnv): { freedMemoryKeepMs?: number } {
  const seconds = wholeNumberFromEnv(env, 'FLAN_FREED_MEMORY_SECONDS', 0);
  return seconds === undefined ? {} : { freedMemoryKeepMs: Math.max(IDLE_PAUSE_MS, seconds * 1000) };
}

/** The pause after which an idle process collects V8's garbage, and the shortest wait before a trim. */
const IDLE_PAUSE_MS = 1000;

/** The pending collection and trim: one per process, as the heap they free is. */
let pending: NodeJS.Timeout | undefined;
let pendingCollection: NodeJS.Timeout | undefined;

/**
 * Trims once nothing has run for `delayMs`: a trim gives back pages that the next run would fault in
 * again, so it waits for a pause rather than following every request. What V8 holds is collected after
 * a second's pause whatever the delay: an idle server never collects by itself, and a burst's arrays
 * left uncollected are memory the next burst cannot reuse (it faulted ~200 MiB afresh: bench vs-hf f32
 * 405-421 tok/s in the two rounds before V8 collected, 712 after).
 */
export function returnFreedMemoryWhenIdle(delayMs = IDLE_PAUSE_MS): void {
  cancelFreedMemoryReturn();
  if (delayMs > IDLE_PAUSE_MS) pendingCollection = setTimeout(collectGarbage, IDLE_PAUSE_MS).unref();
  pending = setTimeout(returnFreedMemory, delayMs).unref();
}

let mallopt: ((param: number, value: number) => number) | null | undefined;
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

/**
 * Tells glibc to keep what is freed for reuse until a trim: blocks up to 32 MiB come from its heaps
 * instead of fresh mappings, and a heap's freed top is not handed back on every free. Without the
 * CPU arena (FLAN_CPU_ARENA) every run's tensors are malloc'd, and a fresh page costs a fault (~20 us
 * in this VM: growing a batch-32 KV cache by a chunk, 50 MiB, took 223 ms); the idle trim still gives
 * it all back. With it the arena-off server beat the arena-on one (bench vs-hf, 3 rounds each, quiet
 * machine): 506 vs 485 tok/s for 32 concurrent requests, 7.8 vs 10.2 ms/token, peak 843 vs 960 MiB.
 * True when glibc took the settings.
 */
export function keepFreedMemoryForReuse(): boolean {
  mallopt ??= loadLibc((lib) => lib.func('int mallopt(int param, int value)') as (param: number, value: number) => number);
  if (!mallopt) return false;
  return mallopt(M_MMAP_THRESHOLD, 32 * 2 ** 20) === 1 && mallopt(M_TRIM_THRESHOLD, 2 ** 30) === 1;
}

/** Work is starting: the pending trim would only cost it page faults. */
export function cancelFreedMemoryReturn(): void {
  clearTimeout(pending);
  clearTimeout(pendingCollection);
  pending = undefined;
  pendingCollection = undefined;
}
