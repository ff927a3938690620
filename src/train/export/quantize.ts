/**
 * Smaller variants of an image-encoder ONNX model, by rewriting its weights (../onnx/onnx-model-io.ts):
 *
 *   fp16              every large float initializer stored as float16, with a Cast to float32 in
 *                     front: half the file; onnxruntime folds the Casts when the session is
 *                     created, so compute (and resident weights) stay float32. onnxruntime-web's
 *                     WASM backend has no float16 MatMul kernels, which rules out fp16 compute.
 *   int8 dynamic      MatMul weights as symmetric per-output-channel int8; activations quantised
 *                     per tensor at run time (DynamicQuantizeLinear -> MatMulInteger -> Cast ->
 *                     Mul by the two scales, the pattern onnxruntime fuses into
 *                     DynamicQuantizeMatMul): int8 weights stay int8 in memory and the matmuls
 *                     run in integer arithmetic.
 *   int8 weight-only  MatMul weights as int8 + DequantizeLinear back to float32 before a float
 *                     MatMul (onnxruntime does not fold DequantizeLinear, so weights stay int8 in
 *                     memory and are expanded layer by layer on every run).
 *
 *   q4                MatMul weights as 4-bit blocks along K (onnxruntime's contrib op
 *                     com.microsoft.MatMulNBits, which onnxruntime-web's WASM build runs):
 *                     symmetric (code - 8) * scale, or with a 4-bit zero point per block; one
 *                     float32 scale per block of `blockSize` weights. The weights stay 4-bit in
 *                     memory: about an eighth of fp32 (plus a scale per block).
 *
 * In the int8 schemes and q4 the patch-embedding Conv weight is weight-only int8 (DequantizeLinear,
 * per output channel). Small tensors (biases, LayerNorm, position embeddings) stay float32.
 */
import { encodeModelWith, parseModel, type InitializerInfo, type NewNode, type NodeOut, type TensorOut } from '../onnx/onnx-model-io.ts';
import { DataType } from '../onnx/onnx-proto.ts';

export type Precision = 'fp32' | 'fp16' | 'int8' | 'q4';
export type Int8Scheme = 'dynamic' | 'weight-only';

/** MatMulNBits settings for `precision: 'q4'`. */
export interface Q4Options {
  /** Weights per block along K: a power of two, at least 16 (default 32). */
  readonly blockSize?: number;
  /** A 4-bit zero point per block (asymmetric) instead of the fixed 8 (symmetric). Default false. */
  readonly zeroPoints?: boolean;
  /**
   * MatMulNBits `accuracy_level`: 0 leaves the activations float32; 4 lets onnxruntime quantise
   * them to int8 per block where it has such a kernel. Default 0.
   */
  readonly accuracyLevel?: 0 | 1 | 4;
}

export interface QuantizeOptions {
  readonly precision: Precision;
  /** Default 'dynamic'. */
  readonly int8Scheme?: Int8Scheme;
  /** Only for precision 'q4'. */
  readonly q4?: Q4Options;
  /** Tensors with fewer elements stay float32 (default 4096). */
  readonly minElements?: number;
}

export interface QuantizeReport {
  readonly precision: Precision;
  readonly int8Scheme?: Int8Scheme;
  readonly q4?: Required<Q4Options>;
  /** Initializers rewritten, by kind. */
  readonly rewritten: { fp16: number; int8MatMul: number; int8Conv: number; q4MatMul: number };
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** float32 -> float16 bits, round to nearest even (vectorised over an array: ViT-B has ~88M weights). */
export function toFloat16Bits(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    const mant = x & 0x7fffff;
    let h: number;
    if (exp === 0xff) h = sign | 0x7c00 | (mant ? 0x200 : 0);
    else {
      const e = exp - 112; // rebias 127 -> 15
      if (e >= 0x1f) h = sign | 0x7c00;
      else if (e <= 0) {
        if (e < -10) h = sign;
        else {
          const m = mant | 0x800000;
          const shift = 14 - e;
          let r = m >>> shift;
          const rest = m & ((1 << shift) - 1);
          const half = 1 << (shift - 1);
          if (rest > half || (rest === half && (r & 1))) r += 1;
          h = sign | r;
        }
      } else {
        // Adding the rounding bias may carry into the exponent, which is exactly right (and
        // overflows to infinity at the top).
        const r = (e << 10) | (mant >>> 13);
        const rest = mant & 0x1fff;
        h = sign | (rest > 0x1000 || (rest === 0x1000 && (r & 1)) ? r + 1 : r);
      }
    }
    out[i] = h;
  }
  return out;
}

/** Symmetric int8 per channel along `axis` (0: rows of [C, ...]; 1: columns of [K, N]): q = round(w / s), s = max|w| / 127. */
export function quantizeInt8PerChannel(w: Float32Array, dims: readonly number[], axis: 0 | 1): { q: Int8Array; scales: Float32Array } {
  const channels = dims[axis]!;
  const inner = axis === 0 ? w.length / channels : channels; // axis 1 only for rank 2
  const maxAbs = new Float32Array(channels);
  if (axis === 0) {
    for (let c = 0; c < channels; c++) {
      let m = 0;
      for (let i = c * inner; i < (c + 1) * inner; i++) m = Math.max(m, Math.abs(w[i]!));
      maxAbs[c] = m;
    }
  } else {
    for (let i = 0; i < w.length; i++) {
      const c = i % inner;
      const a = Math.abs(w[i]!);
      if (a > maxAbs[c]!) maxAbs[c] = a;
    }
  }
  const scales = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const inv = scales.map((s) => 1 / s);
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = axis === 0 ? Math.floor(i / inner) : i % inner;
    q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! * inv[c]!)));
  }
  return { q, scales };
}

/** A [K, N] MatMul weight in MatMulNBits layout (bits 4). */
export interface Q4Weight {
  /** [N, kBlocks, blockSize / 2]: per output column, its K values in blocks, two codes a byte, low nibble first. */
  readonly packed: Uint8Array;
  /** [N, kBlocks]. */
  readonly scales: Float32Array;
  /** [N, ceil(kBlocks / 2)], packed like `packed`; absent when symmetric (zero point 8). */
  readonly zeroPoints?: Uint8Array;
  readonly kBlocks: number;
}

/**
 * Block-wise 4-bit quantisation of a row-major [K, N] weight along K (MatMulNBits' layout: B is
 * stored transposed, one row of blocks per output column). A K that is not a multiple of the block
 * size is padded with codes that decode to 0.
 *
 *   symmetric: the value of largest magnitude m decodes exactly: scale = m / -8, code = round(w / scale) + 8
 *              clamped to 0..15 (the -8..7 range used in full, as onnxruntime's own quantiser does);
 *   zero points: scale = (max - min) / 15 over the block (with 0 inside the range), zero point = round(-min / scale).
 */
export function quantizeQ4Blockwise(w: Float32Array, k: number, n: number, blockSize: number, withZeroPoints: boolean): Q4Weight {
  if (w.length !== k * n) throw new Error(`weight has ${w.length} values, expected ${k} x ${n}`);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) throw new Error(`block size ${blockSize} must be a power of two, at least 16`);
  const kBlocks = Math.ceil(k / blockSize);
  const blob = blockSize / 2;
  const zpStride = Math.ceil(kBlocks / 2);
  const packed = new Uint8Array(n * kBlocks * blob);
  const scales = new Float32Array(n * kBlocks);
  const zeroPoints = withZeroPoints ? new Uint8Array(n * zpStride) : undefined;
  // Transposed copy, so that each block is contiguous.
  const t = new Float32Array(n * k);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) t[c * k + r] = w[r * n + c]!;
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < kBlocks; b++) {
      const start = c * k + b * blockSize;
      const len = Math.min(blockSize, k - b * blockSize);
      let scale: number;
      let zp: number;
      if (zeroPoints) {
        let mn = 0;
        let mx = 0;
        for (let i = 0; i < len; i++) { const x = t[start + i]!; if (x < mn) mn = x; if (x > mx) mx = x; }
        scale = Math.fround((mx - mn) / 15);
        zp = scale > 0 ? Math.max(0, Math.min(15, Math.round(-mn / scale))) : 8;
        zeroPoints[c * zpStride + (b >> 1)]! |= zp << ((b & 1) * 4);
      } else {
        let m = 0;
        for (let i = 0; i < len; i++) { const x = t[start + i]!; if (Math.abs(x) > Math.abs(m)) m = x; }
        scale = Math.fround(m / -8);
        zp = 8;
      }
      scales[c * kBlocks + b] = scale;
      const inv = scale !== 0 ? 1 / scale : 0;
      const base = (c * kBlocks + b) * blob;
      for (let i = 0; i < blockSize; i++) {
        const q = i < len ? Math.max(0, Math.min(15, Math.round(t[start + i]! * inv) + zp)) : zp;
        packed[base + (i >> 1)]! |= q << ((i & 1) * 4);
      }
    }
  }
  return { packed, scales, kBlocks, ...(zeroPoints ? { zeroPoints } : {}) };
}

/** The float32 [K, N] weight a Q4Weight decodes to: (code - zero point) * scale. */
export function dequantizeQ4Blockwise(q: Q4Weight, k: number, n: number, blockSize: number): Float32Array {
  const out = new Float32Array(k * n);
  const blob = blockSize / 2;
  const zpStride = Math.ceil(q.kBlocks / 2);
  for (let c = 0; c < n; c++) {
    for (let b = 0; b < q.kBlocks; b++) {
      const scale = q.scales[c * q.kBlocks + b]!;
      const zp = q.zeroPoints ? (q.zeroPoints[c * zpStride + (b >> 1)]! >> ((b & 1) * 4)) & 15 : 8;
      const base = (c * q.kBlocks + b) * blob;
      for (let i = 0; i < blockSize && b * blockSize + i < k; i++) {
        const code = (q.packed[base + (i >> 1)]! >> ((i & 1) * 4)) & 15;
        out[(b * blockSize + i) * n + c] = (code - zp) * scale;
      }
    }
  }
  return out;
}

const bytesOf = (a: Float32Array | Int8Array | Uint16Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function quantizeModel(input: Uint8Array, opts: QuantizeOptions): { bytes: Uint8Array; report: QuantizeReport } {
  const precision = opts.precision;
  const scheme: Int8Scheme = opts.int8Scheme ?? 'dynamic';
  const minElements = opts.minElements ?? 4096;
  const q4: Required<Q4Options> = { blockSize: opts.q4?.blockSize ?? 32, zeroPoints: opts.q4?.zeroPoints ?? false, accuracyLevel: opts.q4?.accuracyLevel ?? 0 };
  const rewritten = { fp16: 0, int8MatMul: 0, int8Conv: 0, q4MatMul: 0 };
  if (precision === 'fp32') return { bytes: input, report: { precision, rewritten, bytesIn: input.byteLength, bytesOut: input.byteLength } };

  const model = parseModel(input);
  const inits = new Map(model.initializers.map((t) => [t.name, t] as const));
  const consumers = new Map<string, Array<{ op: string; slot: number }>>();
  for (const n of model.nodes) n.inputs.forEach((i, slot) => { if (!consumers.has(i)) consumers.set(i, []); consumers.get(i)!.push({ op: n.opType, slot }); });
  const graphInputs = new Set<string>(); // initializers that are also graph inputs can be overridden: leave them
  for (const f of model.graphFields) if (f.field === 11) {
    const nameField = readName(f.bytes);
    if (nameField) graphInputs.add(nameField);
  }

  const size = (t: InitializerInfo) => t.dims.reduce((a, b) => a * b, 1);
  const isBigFloat = (t: InitializerInfo | undefined): t is InitializerInfo => !!t && t.dataType === DataType.FLOAT && size(t) >= minElements && !graphInputs.has(t.name);
  /** Weight of MatMul slot 1 only, rank 2: the linear layers. */
  const isMatMulWeight = (t: InitializerInfo) => t.dims.length === 2 && (consumers.get(t.name) ?? []).every((c) => c.op === 'MatMul' && c.slot === 1);
  const isConvWeight = (t: InitializerInfo) => t.dims.length === 4 && (consumers.get(t.name) ?? []).every((c) => c.op === 'Conv' && c.slot === 1);

  const replacedInits = new Map<string, TensorOut[]>();
  const prologue: NewNode[] = [];
  const int8Weights = new Map<string, { q: string; scale: string }>();
  const q4Weights = new Map<string, { b: string; scales: string; zp?: string; k: number; n: number }>();

  for (const t of model.initializers) {
    if (!isBigFloat(t)) continue;
    if (precision === 'fp16') {
      const name16 = `${t.name}__fp16`;
      replacedInits.set(t.name, [{ tensor: { name: name16, dims: t.dims, dataType: DataType.FLOAT16, data: bytesOf(toFloat16Bits(t.floats())) } }]);
      prologue.push({ opType: 'Cast', inputs: [name16], outputs: [t.name], name: `${t.name}__cast`, attrs: [{ name: 'to', int: DataType.FLOAT }] });
      rewritten.fp16 += 1;
      continue;
    }
    const conv = isConvWeight(t);
    if (!conv && !isMatMulWeight(t)) continue;
    if (precision === 'q4' && !conv) {
      const [k, n] = t.dims as [number, number];
      const q = quantizeQ4Blockwise(t.floats(), k, n, q4.blockSize, q4.zeroPoints);
      const names = { b: `${t.name}__q4`, scales: `${t.name}__q4_scales`, ...(q.zeroPoints ? { zp: `${t.name}__q4_zp` } : {}), k, n };
      replacedInits.set(t.name, [
        { tensor: { name: names.b, dims: [n, q.kBlocks, q4.blockSize / 2], dataType: DataType.UINT8, data: q.packed } },
        { tensor: { name: names.scales, dims: [n, q.kBlocks], dataType: DataType.FLOAT, data: bytesOf(q.scales) } },
        ...(q.zeroPoints ? [{ tensor: { name: names.zp!, dims: [n, Math.ceil(q.kBlocks / 2)], dataType: DataType.UINT8, data: q.zeroPoints } }] : []),
      ]);
      q4Weights.set(t.name, names);
      rewritten.q4MatMul += 1;
      continue;
    }
    const { q, scales } = quantizeInt8PerChannel(t.floats(), t.dims, conv ? 0 : 1);
    const qName = `${t.name}__int8`;
    const sName = `${t.name}__scale`;
    replacedInits.set(t.name, [
      { tensor: { name: qName, dims: t.dims, dataType: DataType.INT8, data: bytesOf(q) } },
      { tensor: { name: sName, dims: [scales.length], dataType: DataType.FLOAT, data: bytesOf(scales) } },
    ]);
    if (conv || scheme === 'weight-only') {
      prologue.push({ opType: 'DequantizeLinear', inputs: [qName, sName], outputs: [t.name], name: `${t.name}__dq`, attrs: [{ name: 'axis', int: conv ? 0 : 1 }] });
    } else {
      int8Weights.set(t.name, { q: qName, scale: sName });
    }
    if (conv) rewritten.int8Conv += 1;
    else rewritten.int8MatMul += 1;
  }

  const nodes: NodeOut[] = prologue.map((node) => ({ node }));
  const quantizedActivations = new Map<string, { q: string; scale: string; zp: string }>();
  let k = 0;
  for (const n of model.nodes) {
    const w4 = n.opType === 'MatMul' && n.domain === '' ? q4Weights.get(n.inputs[1]!) : undefined;
    if (w4) {
      nodes.push({ node: {
        opType: 'MatMulNBits',
        domain: MS_DOMAIN,
        inputs: [n.inputs[0]!, w4.b, w4.scales, ...(w4.zp ? [w4.zp] : [])],
        outputs: [n.outputs[0]!],
        name: `${n.outputs[0]!}__MatMulNBits`,
        attrs: [{ name: 'K', int: w4.k }, { name: 'N', int: w4.n }, { name: 'bits', int: 4 }, { name: 'block_size', int: q4.blockSize }, { name: 'accuracy_level', int: q4.accuracyLevel }],
      } });
      continue;
    }
    const w = n.opType === 'MatMul' && n.domain === '' ? int8Weights.get(n.inputs[1]!) : undefined;
    if (!w) {
      nodes.push({ raw: n.raw });
      continue;
    }
    const x = n.inputs[0]!;
    let xq = quantizedActivations.get(x);
    if (!xq) {
      const base = `${x}__dq${k++}`;
      xq = { q: `${base}_q`, scale: `${base}_scale`, zp: `${base}_zp` };
      nodes.push({ node: { opType: 'DynamicQuantizeLinear', inputs: [x], outputs: [xq.q, xq.scale, xq.zp], name: `${base}_DynamicQuantizeLinear` } });
      quantizedActivations.set(x, xq);
    }
    const y = n.outputs[0]!;
    const base = `${y}__mmi`;
    nodes.push({ node: { opType: 'MatMulInteger', inputs: [xq.q, w.q, xq.zp], outputs: [`${base}_int32`], name: `${base}_MatMulInteger` } });
    nodes.push({ node: { opType: 'Cast', inputs: [`${base}_int32`], outputs: [`${base}_float`], name: `${base}_Cast`, attrs: [{ name: 'to', int: DataType.FLOAT }] } });
    nodes.push({ node: { opType: 'Mul', inputs: [xq.scale, w.scale], outputs: [`${base}_scale`], name: `${base}_ScaleMul` } });
    nodes.push({ node: { opType: 'Mul', inputs: [`${base}_float`, `${base}_scale`], outputs: [y], name: `${base}_OutMul` } });
  }

  const initializers: TensorOut[] = [];
  for (const t of model.initializers) initializers.push(...(replacedInits.get(t.name) ?? [{ raw: t.raw }]));
  const opsets = new Map(model.opsets);
  // DequantizeLinear with an axis needs opset 13.
  if ((opsets.get('') ?? 0) < 13) throw new Error(`the model's opset ${opsets.get('') ?? 0} is below 13; re-export it with opset 13 or later`);
  if (q4Weights.size > 0 && !opsets.has(MS_DOMAIN)) opsets.set(MS_DOMAIN, 1);
  const bytes = encodeModelWith(model, nodes, initializers, opsets);
  return { bytes, report: { precision, ...(precision === 'int8' ? { int8Scheme: scheme } : {}), ...(precision === 'q4' ? { q4 } : {}), rewritten, bytesIn: input.byteLength, bytesOut: bytes.byteLength } };
}

/** onnxruntime's contrib operator domain (MatMulNBits). */
const MS_DOMAIN = 'com.microsoft';

/** ValueInfoProto.name (field 1). */
function readName(valueInfo: Uint8Array): string | undefined {
  // field 1, wire type 2: tag byte 0x0a, then a length varint (names are short).
  if (valueInfo[0] !== 0x0a) return undefined;
  let len = 0;
  let shift = 0;
  let pos = 1;
  for (;;) {
    const b = valueInfo[pos++]!;
    len |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return new TextDecoder().decode(valueInfo.subarray(pos, pos + len));
}
