import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { reportNativeCallsTo } from '../device/native-calls.ts';
import { keepFreedMemoryForReuse } from '../freed-memory.ts';
import type { SessionConfig } from '../onnx-session.ts';
import { EngineCore, type EngineLimits } from './engine-core.ts';
import {
  engineErrorData,
  type EngineCommand,
  type EngineReply,
  type GenerationEvent,
  type LoadedModelInfo,
  type ScoreResult,
  type StreamFailure,
} from './engine-api.ts';
import { WorkerWatch } from './worker-watch.ts';

/** What the server thread hands the worker when it starts it. */
export interface EngineWorkerData {
  entry: string;
  limits: EngineLimits;
  session: SessionConfig;
  /** This thread's nice value, set before any session exists so that onnxruntime's threads inherit it. */
  nice: number;
  /** The WorkerWatch's memory, shared with the client. */
  watch: SharedArrayBuffer;
  /** The WorkerWatch's thread id, written by runtime/worker-bootstrap.mjs. */
  threadId: SharedArrayBuffer;
  /** How often the thread reports that its loop turns (well under the client's stall limit). */
  beatMs: number;
}

/**
 * The engine core's thread: tokenizing, model loading, scheduling, session runs, sampling and
 * detokenizing all happen here, so the server's event loop only moves messages. Events are sent in
 * one message per turn of this thread's loop (about one per decode step), not one per token.
 */
const port = parentPort!;
const { limits, session, nice, watch: watchBuffer, threadId, beatMs } = workerData as EngineWorkerData;
const watch = new WorkerWatch(watchBuffer, threadId);
// On Linux a priority belongs to a thread, and the threads this one starts (onnxruntime's pools,
// made with its sessions) inherit it.
if (watch.threadId !== undefined && nice > 0) setPriority(watch.threadId, nice);
keepFreedMemoryForReuse();
reportNativeCallsTo(watch);
setInterval(() => watch.beat(), beatMs);
const core = new EngineCore(limits, session);
const controllers = new Map<number, AbortController>();
let pending: [number, GenerationEvent | StreamFailure][] = [];
let flushing = false;

const post = (reply: EngineReply) => port.postMessage(reply);

function queue(id: number, event: GenerationEvent | StreamFailure): void {
  pending.push([id, event]);
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    const batch = pending;
    pending = [];
    post({ type: 'events', batch, stats: core.stats() });
  });
}

function generate(id: number, request: Extract<EngineCommand, { type: 'generate' }>['request']): void {
  const controller = new AbortController();
  let stream;
  try {
    stream = core.generate({ ...request, signal: controller.signal });
  } catch (err) {
    return post({ type: 'failed', id, error: engineErrorData(err) });
  }
  controllers.set(id, controller);
  let accepted = false;
  stream.accepted.then(
    () => {
      accepted = true;
      post({ type: 'accepted', id });
    },
    (err: unknown) => post({ type: 'failed', id, error: engineErrorData(err) }),
  );
  void (async () => {
    try {
      for await (const event of stream) queue(id, event);
    } catch (err) {
      // A refusal was already reported as `failed`.
      if (accepted) queue(id, { type: 'failure', error: engineErrorData(err) });
    } finally {
      controllers.delete(id);
    }
  })();
}

async function call(id: number, work: () => Promise<LoadedModelInfo | ScoreResult | void>): Promise<void> {
  let reply: EngineReply;
  try {
    const value = await work();
    reply = { type: 'result', id, ...(value ? { value } : {}) };
  } catch (err) {
    reply = { type: 'result', id, error: engineErrorData(err) };
  }
  // After the events queued before it (a close's last tokens), which go out on this turn.
  setImmediate(() => post(reply));
}

port.on('message', (command: EngineCommand) => {
  switch (command.type) {
    case 'generate':
      return generate(command.id, command.request);
    case 'cancel':
      return controllers.get(command.id)?.abort();
    case 'load':
      return void call(command.id, () => core.load(command.model));
    case 'score':
      return void call(command.id, () => core.score(command.request));
    case 'unload':
      return void call(command.id, () => core.unload(command.modelId));
    case 'close':
      return void call(command.id, () => core.close(command.graceMs));
  }
});
