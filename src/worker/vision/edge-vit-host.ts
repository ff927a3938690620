/**
 * The edge-vit engine as the worker runs it: its WebAssembly modules, compiled at deploy time
 * (wrangler turns `.wasm` imports into WebAssembly.Module; workerd forbids compiling bytes at run
 * time), and which of them a new instance uses.
 *
 * Relaxed SIMD or plain SIMD: the engine ships both builds. A host that has the bytes (Node, a
 * browser) picks the relaxed one only if `WebAssembly.validate` accepts it. workerd cannot make that
 * choice at run time: every imported module is compiled when the Worker is loaded, and one that does
 * not compile fails the whole Worker, not one model. workerd's V8 has relaxed SIMD on (standard
 * since V8 11.4), so there the relaxed build is always used unless EDGE_VIT_SIMD = "plain" asks for
 * the other (for the bench's comparison, or to rule the relaxed kernels out on a new CPU).
 */

export interface EdgeVitEngine {
  /** True when the relaxed-SIMD module runs. */
  readonly relaxed: boolean;
  /** The instance's WASM memory, `memory.buffer.byteLength`. */
  readonly memoryBytes: number;
  readonly imageSize: number;
  readonly dim: number;
  /** One image, CHW float pixels [3, S, S] -> raw embedding [dim]. */
  encode(pixelsChw: Float32Array): Float32Array;
}

/** Takes the weight file in chunks (each copied into WASM memory at once), then builds the engine. */
export interface EdgeVitLoader {
  write(chunk: Uint8Array): void;
  finish(): EdgeVitEngine;
}

export interface EdgeVitHost {
  createLoader(): EdgeVitLoader;
}

export type EdgeVitSimd = 'relaxed' | 'plain';

/** EDGE_VIT_SIMD as configured: "plain" forces the plain-SIMD build; unset, empty or "relaxed" is the default. */
export function parseEdgeVitSimd(raw: string | undefined): EdgeVitSimd {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'relaxed') return 'relaxed';
  if (v === 'plain') return 'plain';
  throw new Error(`EDGE_VIT_SIMD is "${raw}": use "relaxed" (the default) or "plain".`);
}
