import ort from 'onnxruntime-node';

// Sessions are made by the device layer; these names stay importable from here for the many callers.
export { createSession } from './device/create-session.ts';
export { intraOpThreads, sessionConfigFromEnv, type ExecutionDevice, type SessionConfig, type Spinning } from './device/device-config.ts';

export function int64Feed(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => {
    if (row.length !== width) throw new Error(`ragged int64 feed: row ${r} has ${row.length} values, expected ${width}`);
    row.forEach((v, c) => (data[r * width + c] = BigInt(v)));
  });
  return new ort.Tensor('int64', data, [rows.length, width]);
}

export { ort };
