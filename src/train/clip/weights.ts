/**
 * Reading Hugging Face weights into the layout the graphs use: in the graph's float type, with
 * each size checked (a wrong checkpoint fails with the weight's name), nn.Linear's [out, in]
 * transposed to MatMul's [in, out].
 */
import { CheckpointError } from '../../core/errors.ts';
import type { FloatDType } from '../onnx/graph-builder.ts';
import type { AffineNames, EncoderLayerNames } from './weight-names.ts';

export type FloatArray = Float32Array | Float64Array;

/** A weight by its Hugging Face CLIPModel name (e.g. "text_model.final_layer_norm.weight"). */
export type WeightGetter = (name: string) => FloatArray;

export class WeightReader {
  readonly dtype: FloatDType;
  private readonly get: WeightGetter;

  constructor(get: WeightGetter, dtype: FloatDType) {
    this.get = get;
    this.dtype = dtype;
  }

  /** A weight in the graph's dtype, checked to hold `size` values. */
  weight(name: string, size: number): FloatArray {
    const w = this.get(name);
    if (w.length !== size) throw new CheckpointError(`weight ${name} has ${w.length} values; the model config needs ${size}. Does config.json match model.safetensors?`);
    if (this.dtype === 'float64') return w instanceof Float64Array ? w : Float64Array.from(w);
    return w instanceof Float32Array ? w : Float32Array.from(w);
  }

  /** An nn.Linear weight [out, in] as MatMul's [in, out]. */
  linearT(name: string, outDim: number, inDim: number): FloatArray {
    return transposeMatrix(this.weight(name, outDim * inDim), outDim, inDim);
  }

  /**
   * q, k and v of one layer stacked as rows [3W, W] (q rows pre-scaled by head_dim^-0.5, so the
   * attention scores need no extra scaling), and their bias [3W].
   */
  fusedQkv(layer: EncoderLayerNames, width: number, heads: number): { weight: FloatArray; bias: FloatArray } {
    const W = width;
    const scale = (W / heads) ** -0.5;
    const weight = this.alloc(3 * W * W);
    const bias = this.alloc(3 * W);
    ([layer.q, layer.k, layer.v] as const).forEach((proj: AffineNames, p) => {
      const s = p === 0 ? scale : 1;
      const w = this.weight(proj.weight, W * W);
      const b = this.weight(proj.bias, W);
      for (let j = 0; j < W * W; j++) weight[p * W * W + j] = w[j]! * s;
      for (let j = 0; j < W; j++) bias[p * W + j] = b[j]! * s;
    });
    return { weight, bias };
  }

  alloc(n: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }
}

/** [rows, cols] row-major to [cols, rows], times `scale` (nn.Linear stores [out, in]; MatMul wants [in, out]). */
export function transposeMatrix<T extends FloatArray>(m: T, rows: number, cols: number, scale = 1): T {
  const out = (m instanceof Float64Array ? new Float64Array(rows * cols) : new Float32Array(rows * cols)) as T;
  // Blocked so that both sides stay in cache for ViT-B-sized matrices.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = m[base + c]! * scale;
      }
    }
  }
  return out;
}
