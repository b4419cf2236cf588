import { ort } from './onnx-session.ts';

/**
 * The shared token embedding table [V, D], held once by the runner of a served CPU model and looked up
 * here for both the encoder and the decoder step (their graphs take `inputs_embeds`), instead of one
 * copy inside each graph. A lookup copies B x T rows: at a decode step, B x D floats.
 */
export class TokenEmbeddings {
  private constructor(
    /** [V, D]; also the screened head's f32 weights where the checkpoint ties its head to it. */
    readonly table: Float32Array,
    private readonly dModel: number,
    private readonly vocabSize: number,
  ) {}

  /** A private copy of the table: a view would keep the whole checkpoint buffer it came from alive. */
  static copyOf(table: Float32Array, vocabSize: number, dModel: number): TokenEmbeddings {
    if (table.length !== vocabSize * dModel) throw new Error(`embedding table has ${table.length} values, expected ${vocabSize} x ${dModel}`);
    return new TokenEmbeddings(table.slice(), dModel, vocabSize);
  }

  /** int64 ids [B, T] to their embeddings [B, T, D]. */
  lookup(ids: ort.Tensor): ort.Tensor {
    const data = ids.data as BigInt64Array;
    const d = this.dModel;
    const out = new Float32Array(data.length * d);
    for (let i = 0; i < data.length; i++) {
      const id = Number(data[i]);
      if (!(id >= 0 && id < this.vocabSize)) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      out.set(this.table.subarray(id * d, (id + 1) * d), i * d);
    }
    return new ort.Tensor('float32', out, [...ids.dims, d]);
  }
}
