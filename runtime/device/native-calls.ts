/**
 * Where this thread reports its calls into onnxruntime's native code. The engine worker reports them
 * to its client (runtime/engine/worker-watch.ts): a worker terminated while such a call runs aborts the
 * whole process when the call returns into the dying thread ("terminate called after throwing an
 * instance of 'Napi::Error'"), so the client waits for them to return before it terminates the worker.
 * Other threads report nowhere.
 */
export interface NativeCallSink {
  /** Throws when no new call may start (the worker is being stopped). */
  enter(): void;
  exit(): void;
}

let sink: NativeCallSink | undefined;

export function reportNativeCallsTo(target: NativeCallSink): void {
  sink = target;
}

/** Runs `work` (a session run or creation: synchronous native code behind a promise) as a reported call. */
export async function nativeCall<T>(work: () => Promise<T>): Promise<T> {
  if (!sink) return work();
  const reportTo = sink;
  reportTo.enter();
  try {
    return await work();
  } finally {
    reportTo.exit();
  }
}
