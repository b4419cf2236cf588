import v8 from 'node:v8';
import vm from 'node:vm';
import koffi from 'koffi';

/**
 * glibc keeps what onnxruntime and V8 free in its per-thread arenas: after a model load (the checkpoint,
 * the serialized graphs and onnxruntime's unpacked weights are all freed) and after a burst of requests,
 * hundreds of MiB stay resident though nothing uses them. malloc_trim(0) hands every whole free page
 * back to the kernel. Called through koffi (FFI); where libc is not glibc there is nothing to call.
 */
let mallocTrim: ((pad: number) => number) | null | undefined;

function loadMallocTrim(): ((pad: number) => number) | null {
  if (process.platform !== 'linux') return null;
  try {
    return koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
  } catch {
    return null; // musl and other libcs: no malloc_trim, and nothing kept the same way
  }
}

let fullCollection: (() => void) | undefined;

/**
 * A full V8 collection. An idle server allocates nothing, so V8 never collects on its own what a model
 * load left behind: the checkpoint's arrays (~300 MiB at flan-t5-small) stayed resident, and no trim
 * can give back pages that uncollected arrays still hold (a served model idled at 892 MiB, 599 with
 * this). `gc` is exposed only with --expose-gc; the flag set at run time shows it to a fresh context.
 */
export function collectGarbage(): void {
  if (!fullCollection) {
    v8.setFlagsFromString('--expose-gc');
    fullCollection = vm.runInNewContext('gc') as () => void;
  }
  fullCollection();
}

/** Collects garbage and returns freed heap pages to the kernel; true when there was a malloc_trim to call. */
export function returnFreedMemory(): boolean {
  collectGarbage();
  mallocTrim ??= loadMallocTrim();
  if (!mallocTrim) return false;
  mallocTrim(0);
  return true;
}

/** The pending trim: one per process, as the heap it trims is. */
let pending: NodeJS.Timeout | undefined;

/**
 * Trims once nothing has run for `delayMs`: a trim gives back pages that the next run would fault in
 * again, so it waits for a pause rather than following every request.
 */
export function returnFreedMemoryWhenIdle(delayMs = 1000): void {
  clearTimeout(pending);
  pending = setTimeout(returnFreedMemory, delayMs).unref();
}

/** Work is starting: the pending trim would only cost it page faults. */
export function cancelFreedMemoryReturn(): void {
  clearTimeout(pending);
  pending = undefined;
}
