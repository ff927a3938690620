/**
 * The image encoder alone, same preprocessed pixels, same ONNX file: onnxruntime-web (WASM, SIMD,
 * one thread: what the worker runs) in Node vs onnxruntime-node (native, one intra-op thread).
 */
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import { loadOrtWeb } from '../lib/ort-web-node.ts';
import { summarize, timeRuns, type LatencySummary } from '../lib/stats.ts';

export interface EncoderResult {
  readonly model: string;
  readonly web: LatencySummary & { createMs: number };
  readonly node: LatencySummary & { createMs: number };
  /** p50 web / p50 node. */
  readonly wasmOverNative: number;
}

export async function runEncoder(name: string, onnxPath: string, pixels: Float32Array, size: number, opts: { n: number; warmup: number }): Promise<EncoderResult> {
  const bytes = new Uint8Array(readFileSync(onnxPath));
  const dims = [1, 3, size, size];

  const ortWeb = await loadOrtWeb();
  let t = performance.now();
  const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const webCreate = performance.now() - t;
  const webTimes = await timeRuns(opts.n, opts.warmup, async () => {
    const out = await web.run({ [web.inputNames[0]!]: new ortWeb.Tensor('float32', pixels, dims) });
    for (const v of Object.values(out)) v.dispose();
  });
  await web.release();

  t = performance.now();
  const node = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const nodeCreate = performance.now() - t;
  const nodeTimes = await timeRuns(opts.n, opts.warmup, () => node.run({ [node.inputNames[0]!]: new ortNode.Tensor('float32', pixels, dims) }));
  await node.release();

  const w = summarize(webTimes);
  const n = summarize(nodeTimes);
  return { model: name, web: { ...w, createMs: Math.round(webCreate) }, node: { ...n, createMs: Math.round(nodeCreate) }, wasmOverNative: Math.round((w.p50 / n.p50) * 100) / 100 };
}
