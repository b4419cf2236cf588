import type ort from 'onnxruntime-node';
import type { SessionConfig } from './device-config.ts';
import { TensorCopy } from './tensor-copy.ts';
import type { TransferTally } from './transfer-tally.ts';

/**
 * Device copies of host tensors that never change once made, uploaded at their first use and fed from
 * the device after that: the LoRA factor stacks, which AdapterSlots rebuilds rather than changes
 * (adapter-slots.ts). Fed from the host, every decoder step copied them over again: four adapters of
 * rank 16 on q and v cost 6.9 MB a step at flan-t5-small's shape (`BENCH_ADAPTERS=4 npm run bench --
 * device-transfers`: 6,885,696 B a step before, 4,416 after) and would cost 17.7 MB at flan-t5-base's.
 * A copy lives until its host tensor leaves the live set (`keepOnly`), which the owner calls only
 * between runs.
 */
export class ResidentTensors {
  private readonly copies = new Map<ort.Tensor, ort.Tensor>();
  private readonly copier: TensorCopy;
  /** The live set `keepOnly` last kept to: copies are only ever made of its members, so the same set again frees nothing. */
  private kept: ReadonlySet<ort.Tensor> | undefined;

  constructor(session: SessionConfig) {
    this.copier = new TensorCopy(session);
  }

  /** `feeds` with each float32 host tensor replaced by its device copy; those not there yet go over now. */
  async of(feeds: Readonly<Record<string, ort.Tensor>>, tally?: TransferTally): Promise<Record<string, ort.Tensor>> {
    const uploads = [...new Set(Object.values(feeds))].filter((t) => t.type === 'float32' && t.location === 'cpu' && !this.copies.has(t));
    if (uploads.length) (await this.copier.toDevice(uploads, tally)).forEach((copy, i) => this.copies.set(uploads[i], copy));
    const out: Record<string, ort.Tensor> = {};
    for (const name in feeds) out[name] = this.copies.get(feeds[name]) ?? feeds[name];
    return out;
  }

  /** Frees the copies of host tensors not in `live`: no later run is fed them. */
  keepOnly(live: ReadonlySet<ort.Tensor>): void {
    // Called before every step: the set changes only when the stacks are rebuilt.
    if (live === this.kept) return;
    this.kept = live;
    for (const [host, copy] of this.copies) {
      if (live.has(host)) continue;
      copy.dispose();
      this.copies.delete(host);
    }
  }

  release(): Promise<void> {
    this.keepOnly(new Set());
    return this.copier.release();
  }
}
