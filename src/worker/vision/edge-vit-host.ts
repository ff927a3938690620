/**
 * The edge-vit engine (src/core/engine) as the worker runs it: its two WebAssembly builds, compiled
 * at deploy time (wrangler turns `.wasm` imports into WebAssembly.Module; workerd forbids compiling
 * bytes at run time), and which of them a new instance uses.
 *
 * Relaxed SIMD or plain SIMD: a host that has the module's bytes (Node: src/train/engine) uses the
 * relaxed build only if `WebAssembly.validate` accepts it, else the plain-SIMD one. workerd cannot
 * make that choice at run time: every imported module is compiled when the Worker is loaded, and a
 * module that does not compile fails the whole Worker (the upload or the isolate's start), not one
 * model. workerd's V8 runs relaxed SIMD by default (standard since V8 11.4), so there the relaxed
 * build is what runs, unless EDGE_VIT_SIMD = "plain" asks for the other: for the bench's
 * comparison, or to rule the relaxed kernels out on a CPU where they misbehave.
 */
import { createEdgeVitLoader, type EdgeVitEngine, type EdgeVitLoader, type EdgeVitModules } from '../../core/engine/index.ts';

export type { EdgeVitEngine, EdgeVitLoader };

export interface EdgeVitHost {
  /** A loader for one engine instance (its own WASM memory: weights + activation scratch, allocated once). */
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

/** The engine over its compiled modules, running the build `simd` asks for. */
export function edgeVitHost(modules: EdgeVitModules, simd: EdgeVitSimd): EdgeVitHost {
  return { createLoader: () => createEdgeVitLoader(modules, { plainSimd: simd === 'plain' }) };
}
