/**
 * Kernel and encode probe for tuning the edge-vit engine inside workerd (run.mjs drives it):
 * GEMM micro-benchmarks per shape and tile, and whole encodes of a weight file fetched from a
 * local file server. Not a bench row (serving's bench/rows/engine*.ts are); a tuning tool.
 */
import relaxedMod from '../../build/engine/edge-vit.relaxed.wasm';
import simdMod from '../../build/engine/edge-vit.simd.wasm';
import { createEdgeVitLoader, type EdgeVitEngine, type GemmTile } from '../../src/core/engine/index.ts';
import { instantiateKernels, growTo } from '../../src/core/engine/kernels.ts';

const engines: Record<string, EdgeVitEngine> = {};

function gemmOne(mod: WebAssembly.Module, tile: GemmTile, M: number, K: number, N: number, reps: number) {
  const k = instantiateKernels(mod, tile);
  growTo(k.memory, 32 << 20);
  const base = 1 << 16;
  const q = base, rs = q + M * K, rz = rs + 256 * 4, w = rz + 256 * 4, ws = w + K * N, cs = ws + N * 4, b = cs + N * 4, out = b + N * 4;
  const u8 = new Uint8Array(k.memory.buffer);
  for (let i = 0; i < M * K; i++) u8[q + i] = (i * 7) & 127;
  for (let i = 0; i < K * N; i++) u8[w + i] = (i * 13) & 255;
  for (let r = 0; r < reps; r++) k.gemm(M, K, N, q, K, rs, rz, w, ws, cs, b, out, N * 4, 0);
}

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/gemm1') {
      const p = url.searchParams;
      gemmOne(p.get('variant') === 'simd' ? simdMod : relaxedMod, (p.get('tile') ?? '6x8') as GemmTile, Number(p.get('m')), Number(p.get('k')), Number(p.get('n')), Number(p.get('reps')));
      return new Response('ok');
    }
    if (url.pathname === '/load') {
      const src = url.searchParams.get('src')!;
      const variant = url.searchParams.get('variant') ?? 'relaxed';
      const tile = (url.searchParams.get('tile') ?? '6x8') as GemmTile;
      const loader = createEdgeVitLoader({ relaxed: relaxedMod, simd: simdMod }, { plainSimd: variant === 'simd', tile });
      const t0 = performance.now();
      const body = (await fetch(src)).body!;
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) loader.write(chunk);
      const e = loader.finish();
      engines[`${variant}-${tile}`] = e;
      return Response.json({ loadMs: performance.now() - t0, relaxed: e.relaxed, memoryBytes: e.memoryBytes });
    }
    if (url.pathname === '/encode') {
      const e = engines[url.searchParams.get('key') ?? 'relaxed-6x8']!;
      const reps = Number(url.searchParams.get('reps') ?? '10');
      const px = new Float32Array(3 * e.imageSize * e.imageSize).map((_, i) => Math.sin(i) * 1.5);
      e.encode(px);
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        e.encode(px);
        times.push(performance.now() - t0);
      }
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) e.encode(px);
      const mean = (performance.now() - t0) / reps;
      times.sort((a, b) => a - b);
      return Response.json({ p50: times[Math.floor(times.length / 2)], min: times[0], mean });
    }
    return new Response('not found', { status: 404 });
  },
};
