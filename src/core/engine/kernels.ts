/** The edge-vit WebAssembly module's exports (src/engine/assembly/index.ts). Pointers and strides are bytes. */
export interface EdgeVitKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  relaxed(): number;
  setTile(kind: number): void;
  gemm(rows: number, kpad: number, npad: number, qa: number, lda: number, rowScale: number, rowZp: number, w: number, wScale: number, colSum: number, bias: number, out: number, ldo: number, accumulate: number): void;
  dotProbe(a: number, b: number, c: number, out: number): void;
  quantizeRows(x: number, ldx: number, rows: number, k: number, kpad: number, q: number, ldq: number, scales: number, zps: number): void;
  residualRows(x: number, ldx: number, rows: number, k: number, q: number, ldq: number, scales: number, zps: number, out: number, ldo: number): void;
  layerNorm(x: number, ldx: number, rows: number, n: number, gamma: number, beta: number, eps: number, out: number, ldo: number): void;
  activate(x: number, count: number, kind: number): void;
  attention(qkv: number, ldqkv: number, seq: number, heads: number, d: number, width: number, out: number, ldo: number, kt: number, probs: number): void;
  im2col(pixels: number, channels: number, size: number, patch: number, out: number, ldo: number): void;
  addRows(dst: number, ldd: number, src: number, lds: number, rows: number, cols: number): void;
  expArray(x: number, out: number, count: number): void;
  resampleRow(src: number, bpp: number, cols: number, start: number, count: number, weights: number, ksize: number, out: number): void;
  resampleColumn(rows: number, ring: number, rowBytes: number, first: number, n: number, weights: number, bytes: number, out: number): void;
  normalizeRow(row: number, cols: number, lut: number, out: number, planeBytes: number): void;
}

/** The two builds of the module; `relaxed` is left out where it does not validate. */
export interface EdgeVitModules {
  readonly relaxed?: WebAssembly.Module | undefined;
  readonly simd: WebAssembly.Module;
}

/**
 * Register tile of the GEMM's full row blocks: 4 rows x 16 columns, or two halves of 4 x 8 or 6 x 8.
 * 6x8 is the default: fastest in workerd on VNNI (it fits x64's 15 free vector registers; 4x16 spills).
 */
export type GemmTile = '4x16' | '4x8' | '6x8';
const TILE_KINDS: Record<GemmTile, number> = { '4x16': 0, '4x8': 1, '6x8': 2 };

export function instantiateKernels(module: WebAssembly.Module, tile: GemmTile = '6x8'): EdgeVitKernels {
  // The module imports nothing (built with --runtime stub and no abort import), so synchronous
  // instantiation works in Node and workerd alike.
  const k = new WebAssembly.Instance(module, {}).exports as unknown as EdgeVitKernels;
  k.setTile(TILE_KINDS[tile]);
  return k;
}

/** Grows `memory` once so that it holds at least `bytes`. */
export function growTo(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}
