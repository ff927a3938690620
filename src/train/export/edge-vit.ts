/**
 * export-vision --engine edge-vit: the CLIP vision tower of a checkpoint as an edge-vit weight file
 * (docs/edge-vit-format.md). Every Linear (and the patch embedding) is quantised to int8,
 * symmetric per output channel, packed in the GEMM micro-kernels' order, with per-column sums of
 * the int8 weights (the activations' zero-point correction); LayerNorms, embeddings and biases stay
 * float32. Weight names and the fused, pre-scaled q/k/v come from src/train/clip.
 */
import {
  EDGE_VIT_FORMAT, K_ALIGN, PACK_K, PACK_N, edgeVitDims, edgeVitTensors, encodeEdgeVitPreamble, linearTensorNames, roundUp,
  type EdgeVitConfig, type EdgeVitHeader,
} from '../../core/engine/format.ts';
import { visionTowerConfig, type VisionTowerConfig } from '../clip/config.ts';
import { VISION_WEIGHTS, encoderLayerNames, shapesByName, visionTowerWeights } from '../clip/weight-names.ts';
import { WeightReader } from '../clip/weights.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';

export interface EdgeVitExport {
  /** Magic, header and padding: the file starts with these bytes... */
  readonly preamble: Uint8Array;
  /** ...followed by the data section. */
  readonly data: Uint8Array;
  readonly header: EdgeVitHeader;
  readonly report: { engine: 'edge-vit'; precision: 'int8'; bytesIn: number; bytesOut: number; linears: number };
}

export function edgeVitConfig(v: VisionTowerConfig): EdgeVitConfig {
  return { ...v };
}

/** Symmetric per-row int8 of a [n, k] matrix: q in [-127, 127], scale[n] = max|row| / 127. */
export function quantizePerRow(w: Float32Array, n: number, k: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(n * k);
  const scale = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let amax = 0;
    for (let j = 0; j < k; j++) amax = Math.max(amax, Math.abs(w[r * k + j]!));
    const s = amax > 0 ? amax / 127 : 1;
    scale[r] = s;
    for (let j = 0; j < k; j++) q[r * k + j] = Math.max(-127, Math.min(127, Math.round(w[r * k + j]! / s)));
  }
  return { q, scale };
}

/**
 * [n, k] int8 (row = output column) into the kernels' order: blocks of PACK_N columns, groups of
 * PACK_K k, each group PACK_N x PACK_K bytes [column][k]; n padded to PACK_N, k to K_ALIGN, with zeros.
 */
export function packWeights(q: Int8Array, n: number, k: number): Int8Array {
  const np = roundUp(n, PACK_N);
  const kp = roundUp(k, K_ALIGN);
  const out = new Int8Array(np * kp);
  let o = 0;
  for (let nb = 0; nb < np; nb += PACK_N) {
    for (let kg = 0; kg < kp; kg += PACK_K) {
      for (let c = 0; c < PACK_N; c++) {
        const col = nb + c;
        for (let t = 0; t < PACK_K; t++) {
          const kk = kg + t;
          out[o++] = col < n && kk < k ? q[col * k + kk]! : 0;
        }
      }
    }
  }
  return out;
}

export function exportEdgeVit(ckpt: ClipCheckpoint): EdgeVitExport {
  const vcfg = visionTowerConfig(ckpt.config);
  const cfg = edgeVitConfig(vcfg);
  const shapes = shapesByName(visionTowerWeights(vcfg));
  // Size-checked reads (a checkpoint that does not match its config fails with the weight's name).
  const reader = new WeightReader((name) => ckpt.weight(name), 'float32');
  const get = (name: string): Float32Array => reader.weight(name, shapes.get(name)!.reduce((a, b) => a * b, 1)) as Float32Array;
  const { tensors, dataBytes } = edgeVitTensors(cfg);
  const data = new Uint8Array(dataBytes);
  const offsets = new Map(tensors.map((t) => [t.name, t]));
  const put = (name: string, values: Float32Array | Int32Array | Int8Array) => {
    const t = offsets.get(name)!;
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    if (bytes.byteLength > t.bytes) throw new Error(`edge-vit export: ${name} is ${bytes.byteLength} bytes, the table has ${t.bytes}`);
    data.set(bytes, t.offset);
  };
  let linears = 0;
  /** w [n, k] float (nn.Linear's [out, in]). */
  const linear = (prefix: string, w: Float32Array, n: number, k: number, bias: Float32Array | undefined) => {
    const { q, scale } = quantizePerRow(w, n, k);
    const np = roundUp(n, PACK_N);
    const colsum = new Int32Array(np);
    for (let r = 0; r < n; r++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += q[r * k + j]!;
      colsum[r] = sum;
    }
    const s = new Float32Array(np);
    s.set(scale);
    const b = new Float32Array(np);
    if (bias) b.set(bias);
    const names = linearTensorNames(prefix);
    put(names.w, packWeights(q, n, k));
    put(names.scale, s);
    put(names.colsum, colsum);
    put(names.bias, b);
    linears++;
  };
  const d = edgeVitDims(cfg);
  const W = cfg.width;
  const V = VISION_WEIGHTS;
  linear('embeddings.patch', get(V.patchEmbedding), W, d.patchK, undefined);
  put('embeddings.class', get(V.classEmbedding));
  put('embeddings.position', get(V.positionEmbedding));
  put('pre_ln.gamma', get(V.preLayerNorm.weight));
  put('pre_ln.beta', get(V.preLayerNorm.bias));
  for (let i = 0; i < cfg.layers; i++) {
    const n = encoderLayerNames('vision', i);
    const p = `layers.${i}`;
    put(`${p}.ln1.gamma`, get(n.ln1.weight));
    put(`${p}.ln1.beta`, get(n.ln1.bias));
    // q rows pre-scaled by head_dim^-0.5 (per-channel quantisation carries the factor in their scales)
    const qkv = reader.fusedQkv(n, W, cfg.heads);
    linear(`${p}.qkv`, qkv.weight as Float32Array, 3 * W, W, qkv.bias as Float32Array);
    linear(`${p}.out`, get(n.out.weight), W, W, get(n.out.bias));
    put(`${p}.ln2.gamma`, get(n.ln2.weight));
    put(`${p}.ln2.beta`, get(n.ln2.bias));
    linear(`${p}.fc1`, get(n.fc1.weight), cfg.intermediateSize, W, get(n.fc1.bias));
    linear(`${p}.fc2`, get(n.fc2.weight), W, cfg.intermediateSize, get(n.fc2.bias));
  }
  put('post_ln.gamma', get(V.postLayerNorm.weight));
  put('post_ln.beta', get(V.postLayerNorm.bias));
  linear('projection', get(V.projection), cfg.projectionDim, W, undefined);

  const header: EdgeVitHeader = {
    format: EDGE_VIT_FORMAT,
    config: cfg,
    layout: { packN: PACK_N, packK: PACK_K, kAlign: K_ALIGN },
    dataBytes,
    tensors,
    source: { modelId: ckpt.modelId },
  };
  const preamble = encodeEdgeVitPreamble(header);
  let bytesIn = 0;
  for (const name of shapes.keys()) bytesIn += ckpt.weightShape(name).reduce((a, b) => a * b, 1) * 4;
  return { preamble, data, header, report: { engine: 'edge-vit', precision: 'int8', bytesIn, bytesOut: preamble.byteLength + data.byteLength, linears } };
}
