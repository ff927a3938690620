/**
 * The edge-vit engine: the CLIP vision tower (Hugging Face CLIPVisionModelWithProjection) with int8
 * weights in WebAssembly. This file owns the memory layout (weights as loaded, then activation
 * scratch, allocated once) and runs the forward pass by calling the module's kernels in order:
 *
 *   patches (im2col) -> quantise rows -> GEMM (patch embedding) ; class token ; + positions ; pre-LN
 *   N x [ LN1 -> quantise -> GEMM qkv -> attention -> quantise -> GEMM out (+= x)
 *         LN2 -> quantise -> GEMM fc1 -> quick_gelu | gelu -> quantise -> GEMM fc2 (+= x) ]
 *   post-LN (class row) -> quantise (two passes) -> GEMM projection = image_embeds (not normalised)
 *
 * Web-standard only (no node:*, no Worker API): used by the worker and by Node.
 */
import { InvalidArgumentError } from '../errors.ts';
import { bumpAllocator, EDGE_VIT_ALIGN, edgeVitDims, linearTensorNames, roundUp, type EdgeVitConfig, type EdgeVitHeader } from './format.ts';
import type { ClipImageProcessor } from '../image/clip-image-processor.ts';
import { growTo, type EdgeVitKernels } from './kernels.ts';
import { EdgeVitPreprocessor } from './preprocess.ts';

export interface EdgeVitEngine {
  /** True when the relaxed-SIMD module runs (false: the plain-SIMD fallback). */
  readonly relaxed: boolean;
  /** The WebAssembly memory's size (weights + scratch), bytes. */
  readonly memoryBytes: number;
  readonly imageSize: number;
  readonly numChannels: number;
  /** Length of the embedding encode() returns (projection_dim). */
  readonly dim: number;
  readonly config: EdgeVitConfig;
  /** pixel_values [C, S, S] (preprocessed, CHW) -> image_embeds [dim], as the ONNX vision model (not normalised). */
  encode(pixelsChw: Float32Array): Float32Array;
  /**
   * `processor`'s preprocessing run by the engine's kernels into its own input buffer (the same
   * floats as processor.preprocess); encode() then skips copying the input in.
   */
  preprocessor(processor: ClipImageProcessor): EdgeVitPreprocessor;
}

interface Linear { w: number; scale: number; colsum: number; bias: number; npad: number; kpad: number }

/** Byte offsets of the scratch buffers, and the whole memory's size. */
export interface ScratchLayout {
  pixels: number; cols: number; x: number; t: number; h: number; q: number; rowScale: number; rowZp: number; kt: number; probs: number; pooled: number; residual: number; zeros: number; out: number; end: number;
}

export function scratchLayout(c: EdgeVitConfig, start: number): ScratchLayout {
  const d = edgeVitDims(c);
  const rows = roundUp(d.seq, 4);
  const keys = roundUp(d.seq, 16);
  const { take, end } = bumpAllocator(start, EDGE_VIT_ALIGN);
  const hCols = Math.max(d.qkvPad, d.interPad, d.widthPad);
  const qCols = Math.max(d.patchKPad, d.widthPad, d.interPad);
  const l: Omit<ScratchLayout, 'end'> = {
    pixels: take(c.numChannels * c.imageSize * c.imageSize * 4),
    cols: take(rows * d.patchKPad * 4),
    x: take(rows * d.widthPad * 4),
    t: take(rows * d.widthPad * 4),
    h: take(rows * hCols * 4),
    q: take(rows * qCols),
    rowScale: take(rows * 4),
    rowZp: take(rows * 4),
    kt: take(d.headDim * keys * 4),
    probs: take(2 * keys * 4),
    pooled: take(d.widthPad * 4),
    residual: take(d.widthPad * 4),
    zeros: take(d.projPad * 4), // a zero bias; never written (grown memory is zero-filled)
    out: take(d.projPad * 4),
  };
  return { ...l, end: end() };
}

export class EdgeVitRuntime implements EdgeVitEngine {
  readonly relaxed: boolean;
  readonly config: EdgeVitConfig;
  readonly imageSize: number;
  readonly numChannels: number;
  readonly dim: number;
  private readonly k: EdgeVitKernels;
  private readonly s: ScratchLayout;
  private readonly at: (name: string) => number;

  /** `weightsBase`: where the data section starts in memory; memory must already hold `scratch.end` bytes. */
  constructor(kernels: EdgeVitKernels, header: EdgeVitHeader, weightsBase: number, scratch: ScratchLayout) {
    this.k = kernels;
    this.relaxed = kernels.relaxed() !== 0;
    this.config = header.config;
    this.imageSize = header.config.imageSize;
    this.numChannels = header.config.numChannels;
    this.dim = header.config.projectionDim;
    this.s = scratch;
    const offsets = new Map(header.tensors.map((t) => [t.name, weightsBase + t.offset]));
    this.at = (name) => {
      const o = offsets.get(name);
      if (o === undefined) throw new Error(`edge-vit: no tensor ${name}`); // the header check makes this unreachable
      return o;
    };
    growTo(kernels.memory, scratch.end);
  }

  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  private linear(prefix: string, n: number, k: number): Linear {
    const t = linearTensorNames(prefix);
    return { w: this.at(t.w), scale: this.at(t.scale), colsum: this.at(t.colsum), bias: this.at(t.bias), npad: roundUp(n, 16), kpad: roundUp(k, 16) };
  }

  /** rows of `x` (k valid columns, stride ldx bytes) -> quantise -> GEMM into out (stride ldo bytes). */
  private dense(x: number, ldx: number, rows: number, k: number, lin: Linear, out: number, ldo: number, accumulate: boolean): void {
    const s = this.s;
    this.k.quantizeRows(x, ldx, rows, k, lin.kpad, s.q, lin.kpad, s.rowScale, s.rowZp);
    this.k.gemm(rows, lin.kpad, lin.npad, s.q, lin.kpad, s.rowScale, s.rowZp, lin.w, lin.scale, lin.colsum, lin.bias, out, ldo, accumulate ? 1 : 0);
  }

  /**
   * `dense` with two-pass activations: the row's quantisation residual is quantised and multiplied
   * too (accumulated, no bias). Used for the final projection, whose input error reaches the
   * embedding undamped (it was ~40% of the default model's embedding error) and which is one row.
   */
  private denseTwoPass(x: number, ldx: number, rows: number, k: number, lin: Linear, out: number, ldo: number): void {
    const s = this.s;
    this.dense(x, ldx, rows, k, lin, out, ldo, false);
    this.k.residualRows(x, ldx, rows, k, s.q, lin.kpad, s.rowScale, s.rowZp, s.residual, ldx);
    this.k.quantizeRows(s.residual, ldx, rows, k, lin.kpad, s.q, lin.kpad, s.rowScale, s.rowZp);
    this.k.gemm(rows, lin.kpad, lin.npad, s.q, lin.kpad, s.rowScale, s.rowZp, lin.w, lin.scale, lin.colsum, s.zeros, out, ldo, 1);
  }

  preprocessor(processor: ClipImageProcessor): EdgeVitPreprocessor {
    if (this.numChannels !== 3) throw new InvalidArgumentError(`edge-vit preprocessing needs an RGB model; this one has ${this.numChannels} channels.`);
    // Everything after the input buffer up to the zero bias is activation scratch, idle between encodes.
    return new EdgeVitPreprocessor(this.k, { start: this.s.cols, end: this.s.zeros }, this.s.pixels, this.imageSize, processor);
  }

  encode(pixelsChw: Float32Array): Float32Array {
    const c = this.config;
    const d = edgeVitDims(c);
    const want = c.numChannels * c.imageSize * c.imageSize;
    if (pixelsChw.length !== want) throw new InvalidArgumentError(`edge-vit encode: expected ${want} pixel values (${c.numChannels} x ${c.imageSize} x ${c.imageSize}, CHW), got ${pixelsChw.length}.`);
    const k = this.k;
    const s = this.s;
    const mem = k.memory;
    // Already in place when the engine's preprocessor wrote it.
    if (pixelsChw.buffer !== mem.buffer || pixelsChw.byteOffset !== s.pixels) new Float32Array(mem.buffer, s.pixels, want).set(pixelsChw);
    const W = c.width;
    const ldx = d.widthPad * 4;
    const eps = c.layerNormEps;

    // Embeddings: the patch convolution as a GEMM into rows 1..S-1, the class token in row 0.
    k.im2col(s.pixels, c.numChannels, c.imageSize, c.patchSize, s.cols, d.patchKPad * 4);
    this.dense(s.cols, d.patchKPad * 4, d.patches, d.patchK, this.linear('embeddings.patch', W, d.patchK), s.x + ldx, ldx, false);
    const f32 = new Float32Array(mem.buffer);
    const cls = this.at('embeddings.class') / 4;
    f32.copyWithin(s.x / 4, cls, cls + W);
    k.addRows(s.x, ldx, this.at('embeddings.position'), W * 4, d.seq, W);
    k.layerNorm(s.x, ldx, d.seq, W, this.at('pre_ln.gamma'), this.at('pre_ln.beta'), eps, s.x, ldx);

    const act = c.hiddenAct === 'gelu' ? 1 : 0;
    const ldq = d.qkvPad * 4;
    const ldh = d.interPad * 4;
    for (let i = 0; i < c.layers; i++) {
      const p = `layers.${i}`;
      k.layerNorm(s.x, ldx, d.seq, W, this.at(`${p}.ln1.gamma`), this.at(`${p}.ln1.beta`), eps, s.t, ldx);
      this.dense(s.t, ldx, d.seq, W, this.linear(`${p}.qkv`, 3 * W, W), s.h, ldq, false);
      k.attention(s.h, ldq, d.seq, c.heads, d.headDim, W, s.t, ldx, s.kt, s.probs);
      this.dense(s.t, ldx, d.seq, W, this.linear(`${p}.out`, W, W), s.x, ldx, true);
      k.layerNorm(s.x, ldx, d.seq, W, this.at(`${p}.ln2.gamma`), this.at(`${p}.ln2.beta`), eps, s.t, ldx);
      this.dense(s.t, ldx, d.seq, W, this.linear(`${p}.fc1`, c.intermediateSize, W), s.h, ldh, false);
      k.activate(s.h, d.seq * d.interPad, act);
      this.dense(s.h, ldh, d.seq, c.intermediateSize, this.linear(`${p}.fc2`, W, c.intermediateSize), s.x, ldx, true);
    }

    // Only the class token is pooled.
    k.layerNorm(s.x, ldx, 1, W, this.at('post_ln.gamma'), this.at('post_ln.beta'), eps, s.pooled, ldx);
    this.denseTwoPass(s.pooled, ldx, 1, W, this.linear('projection', c.projectionDim, W), s.out, d.projPad * 4);
    return new Float32Array(mem.buffer, s.out, c.projectionDim).slice();
  }
}
