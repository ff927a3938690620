/** The engine's two builds for kernel tests: built first when stale; Node 22 must validate the relaxed one. */
import type { EdgeVitModules } from '../../../src/core/engine/kernels.ts';
import { loadEdgeVitModules } from '../../../src/train/engine/edge-vit-node.ts';
import { buildEngine } from '../../../scripts/build-engine.mjs';

export async function engineModules(): Promise<Required<EdgeVitModules>> {
  await buildEngine({ quiet: true });
  const m = loadEdgeVitModules();
  if (!m.relaxed) throw new Error('Node 22 validates relaxed SIMD; the relaxed module did not validate');
  return { relaxed: m.relaxed, simd: m.simd };
}
