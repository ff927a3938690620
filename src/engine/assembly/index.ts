// The edge-vit WebAssembly module: kernels only. The host (src/core/engine/) owns the memory
// layout (weights, then scratch, addressed by byte offsets) and runs the transformer by calling
// these in order. Built twice by scripts/build-engine.mjs: with relaxed SIMD and without.
export { gemm, setTile, dotProbe } from './gemm';
export { quantizeRows, residualRows, layerNorm, activate, attention, im2col, addRows, expArray } from './ops';
export { resampleRow, resampleColumn, normalizeRow } from './resize';

/** Where the host may start placing data (after the module's own static data). */
export function heapBase(): usize {
  return __heap_base;
}

/** Whether this build uses the relaxed dot (true) or the plain-SIMD i16 dot (false). */
export function relaxed(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}
