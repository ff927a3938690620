/**
 * The edge-vit weight file (`vision_model.edge-vit`, format `prompt-edge/edge-vit-weights@1`,
 * docs/edge-vit-format.md): what the exporter writes and the loader checks, from one table.
 *
 *   bytes 0..7    magic "EDGE-VIT"
 *   bytes 8..11   header length H (u32, little-endian)
 *   bytes 12..    header: H bytes of UTF-8 JSON (format, config, tensor table)
 *   zero padding to a multiple of 64, then the data section: every tensor at a 64-aligned offset
 *   (relative to the data section) in the order of `edgeVitTensors(config)`.
 *
 * The layout is a function of the config alone, so the loader recomputes it and accepts a file
 * only when its table matches exactly.
 */
import { EdgeVitWeightsError } from './errors.ts';

export const EDGE_VIT_ENGINE = 'edge-vit';
export const EDGE_VIT_FILE = 'vision_model.edge-vit';
export const EDGE_VIT_FORMAT = 'prompt-edge/edge-vit-weights@1';
export const EDGE_VIT_MAGIC = new Uint8Array([0x45, 0x44, 0x47, 0x45, 0x2d, 0x56, 0x49, 0x54]); // "EDGE-VIT"
export const EDGE_VIT_ALIGN = 64;
/** Output columns per packed block and k per group: the GEMM micro-kernels' layout. */
export const PACK_N = 16;
export const PACK_K = 4;
/** K is padded to this (zero weights), N to PACK_N. */
export const K_ALIGN = 16;
/** A header larger than this is not a header (the real ViT-B/16 table is ~30 kB). */
export const MAX_HEADER_BYTES = 1 << 22;

export type EdgeVitActivation = 'quick_gelu' | 'gelu';

/** The CLIP vision tower's shape: the same fields as the trainer's VisionTowerConfig. */
export interface EdgeVitConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly projectionDim: number;
  readonly layerNormEps: number;
  readonly hiddenAct: EdgeVitActivation;
}

export type EdgeVitDtype = 'i8' | 'i32' | 'f32';

export interface EdgeVitTensor {
  readonly name: string;
  readonly dtype: EdgeVitDtype;
  readonly shape: readonly number[];
  /** Offset in the data section (a multiple of EDGE_VIT_ALIGN). */
  readonly offset: number;
  readonly bytes: number;
}

export interface EdgeVitHeader {
  readonly format: typeof EDGE_VIT_FORMAT;
  readonly config: EdgeVitConfig;
  readonly layout: { readonly packN: number; readonly packK: number; readonly kAlign: number };
  readonly dataBytes: number;
  readonly tensors: readonly EdgeVitTensor[];
  /** Free-form provenance (model id, source file sha256); not checked. */
  readonly source?: Record<string, string>;
}

export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/** Lays buffers out one after another from `start`, each at a multiple of `align`; `end()` is past the last. */
export function bumpAllocator(start: number, align: number): { take(bytes: number): number; end(): number } {
  let p = roundUp(start, align);
  return {
    take(bytes) {
      const at = p;
      p = roundUp(p + bytes, align);
      return at;
    },
    end: () => p,
  };
}

/** Derived sizes the exporter, the loader and the forward pass share. */
export function edgeVitDims(c: EdgeVitConfig) {
  const grid = c.imageSize / c.patchSize;
  const patchK = c.numChannels * c.patchSize * c.patchSize;
  return {
    grid,
    patches: grid * grid,
    seq: grid * grid + 1,
    headDim: c.width / c.heads,
    patchK,
    widthPad: roundUp(c.width, K_ALIGN),
    interPad: roundUp(c.intermediateSize, K_ALIGN),
    qkvPad: roundUp(3 * c.width, PACK_N),
    projPad: roundUp(c.projectionDim, PACK_N),
    patchKPad: roundUp(patchK, K_ALIGN),
  };
}

/** The four tensors of a quantised Linear layer [out n, in k] and their padded sizes. */
export function linearTensorNames(prefix: string) {
  return { w: `${prefix}.w`, scale: `${prefix}.scale`, colsum: `${prefix}.colsum`, bias: `${prefix}.bias` };
}

export interface LinearShape { readonly prefix: string; readonly n: number; readonly k: number }

/** Every Linear of the tower in file order (the patch embedding and the projection included). */
export function edgeVitLinears(c: EdgeVitConfig): LinearShape[] {
  const d = edgeVitDims(c);
  const out: LinearShape[] = [{ prefix: 'embeddings.patch', n: c.width, k: d.patchK }];
  for (let i = 0; i < c.layers; i++) {
    out.push({ prefix: `layers.${i}.qkv`, n: 3 * c.width, k: c.width });
    out.push({ prefix: `layers.${i}.out`, n: c.width, k: c.width });
    out.push({ prefix: `layers.${i}.fc1`, n: c.intermediateSize, k: c.width });
    out.push({ prefix: `layers.${i}.fc2`, n: c.width, k: c.intermediateSize });
  }
  out.push({ prefix: 'projection', n: c.projectionDim, k: c.width });
  return out;
}

/** The tensor table of a config: names, dtypes, shapes, 64-aligned offsets. */
export function edgeVitTensors(c: EdgeVitConfig): { tensors: EdgeVitTensor[]; dataBytes: number } {
  validateEdgeVitConfig(c);
  const d = edgeVitDims(c);
  const specs: Array<{ name: string; dtype: EdgeVitDtype; shape: number[] }> = [];
  const f32 = (name: string, ...shape: number[]) => specs.push({ name, dtype: 'f32', shape });
  const linear = (prefix: string, n: number, k: number) => {
    const np = roundUp(n, PACK_N);
    const kp = roundUp(k, K_ALIGN);
    const t = linearTensorNames(prefix);
    specs.push({ name: t.w, dtype: 'i8', shape: [np / PACK_N, kp / PACK_K, PACK_N, PACK_K] });
    specs.push({ name: t.scale, dtype: 'f32', shape: [np] });
    specs.push({ name: t.colsum, dtype: 'i32', shape: [np] });
    specs.push({ name: t.bias, dtype: 'f32', shape: [np] });
  };
  const ln = (prefix: string) => {
    f32(`${prefix}.gamma`, c.width);
    f32(`${prefix}.beta`, c.width);
  };
  linear('embeddings.patch', c.width, d.patchK);
  f32('embeddings.class', c.width);
  f32('embeddings.position', d.seq, c.width);
  ln('pre_ln');
  for (let i = 0; i < c.layers; i++) {
    ln(`layers.${i}.ln1`);
    linear(`layers.${i}.qkv`, 3 * c.width, c.width);
    linear(`layers.${i}.out`, c.width, c.width);
    ln(`layers.${i}.ln2`);
    linear(`layers.${i}.fc1`, c.intermediateSize, c.width);
    linear(`layers.${i}.fc2`, c.width, c.intermediateSize);
  }
  ln('post_ln');
  linear('projection', c.projectionDim, c.width);
  let offset = 0;
  const tensors = specs.map((s) => {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'i8' ? 1 : 4);
    const t: EdgeVitTensor = { ...s, offset, bytes };
    offset = roundUp(offset + bytes, EDGE_VIT_ALIGN);
    return t;
  });
  return { tensors, dataBytes: offset };
}

export function validateEdgeVitConfig(c: EdgeVitConfig): void {
  for (const k of ['width', 'layers', 'heads', 'intermediateSize', 'imageSize', 'patchSize', 'numChannels', 'projectionDim'] as const) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > 1 << 16) throw new EdgeVitWeightsError(`edge-vit config: ${k} must be a positive integer up to 65536, got ${String(v)}. Re-export the model with \`prompt-edge export-vision --engine edge-vit\`.`);
  }
  if (c.imageSize % c.patchSize !== 0) throw new EdgeVitWeightsError(`edge-vit config: image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}.`);
  if (c.width % c.heads !== 0) throw new EdgeVitWeightsError(`edge-vit config: width ${c.width} is not divisible by ${c.heads} heads.`);
  if ((c.width / c.heads) % 4 !== 0) throw new EdgeVitWeightsError(`edge-vit config: head size ${c.width / c.heads} must be a multiple of 4.`);
  if (!(typeof c.layerNormEps === 'number' && c.layerNormEps > 0 && c.layerNormEps < 1)) throw new EdgeVitWeightsError(`edge-vit config: layerNormEps must be in (0, 1), got ${String(c.layerNormEps)}.`);
  if (c.hiddenAct !== 'quick_gelu' && c.hiddenAct !== 'gelu') throw new EdgeVitWeightsError(`edge-vit config: hiddenAct must be quick_gelu or gelu, got ${String(c.hiddenAct)}.`);
}

/** Bytes before the data section for a header of `headerBytes`. */
export const dataStart = (headerBytes: number): number => roundUp(12 + headerBytes, EDGE_VIT_ALIGN);

/** The file's first bytes (magic, length, header JSON, padding); the data section follows. */
export function encodeEdgeVitPreamble(header: EdgeVitHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(dataStart(json.byteLength));
  out.set(EDGE_VIT_MAGIC, 0);
  new DataView(out.buffer).setUint32(8, json.byteLength, true);
  out.set(json, 12);
  return out;
}

const what = 'edge-vit weight file';

/** Checks a parsed header against the layout its config implies; returns it typed. */
export function checkEdgeVitHeader(raw: unknown): EdgeVitHeader {
  if (typeof raw !== 'object' || raw === null) throw new EdgeVitWeightsError(`${what}: the header is not a JSON object.`);
  const h = raw as Partial<EdgeVitHeader>;
  if (h.format !== EDGE_VIT_FORMAT) throw new EdgeVitWeightsError(`${what}: format is ${JSON.stringify(h.format)}, this engine reads ${EDGE_VIT_FORMAT}. Re-export with this version: prompt-edge export-vision --precision int8 --engine edge-vit.`);
  if (typeof h.config !== 'object' || h.config === null) throw new EdgeVitWeightsError(`${what}: the header has no config.`);
  const layout = h.layout;
  if (!layout || layout.packN !== PACK_N || layout.packK !== PACK_K || layout.kAlign !== K_ALIGN) throw new EdgeVitWeightsError(`${what}: weight packing ${JSON.stringify(layout)} is not this engine's (packN ${PACK_N}, packK ${PACK_K}, kAlign ${K_ALIGN}). Re-export the model.`);
  const expected = edgeVitTensors(h.config);
  if (h.dataBytes !== expected.dataBytes) throw new EdgeVitWeightsError(`${what}: the header says ${String(h.dataBytes)} data bytes, its config implies ${expected.dataBytes}. The file is corrupt or was written by another version.`);
  if (!Array.isArray(h.tensors) || h.tensors.length !== expected.tensors.length) throw new EdgeVitWeightsError(`${what}: the tensor table has ${Array.isArray(h.tensors) ? h.tensors.length : 'no'} entries, the config implies ${expected.tensors.length}.`);
  expected.tensors.forEach((e, i) => {
    const t = (h.tensors as unknown[])[i] as Partial<EdgeVitTensor> | undefined;
    if (!t || t.name !== e.name || t.dtype !== e.dtype || t.offset !== e.offset || t.bytes !== e.bytes || JSON.stringify(t.shape) !== JSON.stringify(e.shape)) {
      throw new EdgeVitWeightsError(`${what}: tensor ${i} is ${JSON.stringify(t)}, expected ${JSON.stringify(e)}. The file is corrupt or was written by another version.`);
    }
  });
  return h as EdgeVitHeader;
}
