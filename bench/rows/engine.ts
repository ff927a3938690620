/**
 * `--only engine`: the edge-vit engine (src/core/engine, int8 with relaxed SIMD) against
 * onnxruntime-web int8 (the worker's generic path) and onnxruntime-node int8 (native, one thread),
 * on the same image and weights, in the same run, for the default model and synthetic ViT-B/32 and
 * ViT-B/16 (issue 9's machine-readable figures: bench/results.json "engine").
 *
 * - node-wasm: in this Node process: the engine (relaxed and plain-SIMD builds), onnxruntime-web and
 *   onnxruntime-node on the bench JPEG's preprocessed pixels; cosine to the fp32 encoder
 *   (onnxruntime-node) over test images; the worker path's isolate memory in a fresh process
 *   (engine-memory-child.ts).
 * - workerd: the real worker under `wrangler dev`, each model published to local R2 as a deployment
 *   would (edge-vit file, and the int8 ONNX encoder with external data), a fresh isolate per
 *   configuration: cold start (first request), then warm requests: the worker's own encode and whole
 *   request (timings_ms), /healthz's WASM memory; EDGE_VIT_SIMD=plain for the plain-SIMD build.
 * - $ per million classifications from the worker's own time per request at Workers Standard's
 *   price ($0.02 per million CPU-ms + $0.30 per million requests), beside Workers AI resnet-50's $2.81.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { decodeLabelSet, encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { l2Normalize } from '../../src/core/scoring.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { loadImages, scanImageFolder } from '../../src/train/data/image-folder.ts';
import { loadEdgeVitFile } from '../../src/train/engine/edge-vit-node.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { AdminClient } from '../../src/train/publish/admin-client.ts';
import { readModelFolder } from '../../src/train/publish/model-folder.ts';
import { median, round, summarize, timeRuns } from '../lib/stats.ts';
import { InspectorClient, isolateBytes, type IsolateHeap } from '../lib/inspector.ts';
import { runMemoryChild } from '../lib/memory-child.ts';
import { classifyOnce, startWorker } from '../lib/worker.ts';
import { runEncoder } from './encoder.ts';
import { writeConfig } from './model-from-r2.ts';

/** Workers Standard: $0.02 per million CPU-ms + $0.30 per million requests. */
export const WORKERS_USD_PER_MILLION_CPU_MS = 0.02;
export const WORKERS_USD_PER_MILLION_REQUESTS = 0.3;
/** Workers AI @cf/microsoft/resnet-50, per million classifications (issue 9). */
export const WORKERS_AI_RESNET50_USD_PER_MILLION = 2.81;

export const usdPerMillion = (cpuMs: number) => round(cpuMs * WORKERS_USD_PER_MILLION_CPU_MS + WORKERS_USD_PER_MILLION_REQUESTS, 2);

export interface EngineBenchModel {
  /** "tiny-clip-cifar10", "vit-b-32" or "vit-b-16". */
  readonly model: string;
  /** The checkpoint (its onnx/vision_model.onnx is the fp32 reference). */
  readonly dir: string;
  /** The int8 ONNX encoder (export-vision --precision int8), one file and with external data. */
  readonly int8: { readonly dir: string; readonly onnxPath: string; readonly external?: { readonly onnxPath: string } };
  /** A folder whose vision_model.edge-vit is the engine's file, and that file. */
  readonly edgeVit: { readonly dir: string; readonly path: string };
  /** Label sets (CIFAR-10 zero-shot) for the edge-vit folder and the int8 folder. */
  readonly labelSets: { readonly edgeVit: string; readonly int8: string };
  /** Test images for the cosine to fp32. */
  readonly cosineImages: number;
  readonly reps: { readonly n: number; readonly warmup: number };
  /** Requests after the timed ones, for the isolate's memory over V8's garbage-collection cycles (no timing). */
  readonly memoryRequests: number;
}

export interface EngineRow {
  model: string;
  runtime: 'node-wasm' | 'workerd';
  engine_encode_ms_p50: number;
  engine_plain_simd_encode_ms_p50: number;
  ortweb_int8_encode_ms_p50: number;
  /** onnxruntime-node int8, one thread (node-wasm rows: same process; workerd rows: the node-wasm figure). */
  ortnode_int8_encode_ms_p50: number;
  /** ortweb / engine, same runtime, same run. */
  speedup_vs_ortweb: number;
  relaxed: boolean;
  wasm_memory_bytes: number;
  isolate_bytes_peak: number;
  cosine_min_vs_fp32: number;
  cosine_mean_vs_fp32: number;
  ortint8_cosine_min_vs_fp32: number;
  images_for_cosine: number;
  /** workerd only: the worker's own whole request (decode, preprocess, encode, score) and its ratio to encode. */
  request_total_ms_p50?: number;
  /** workerd only: the worker's stages (timings_ms), median of each. */
  request_split_ms_p50?: { decode: number; preprocess: number; encode: number; score: number; total: number };
  request_over_encode?: number;
  request_wall_ms_p50?: number;
  ortweb_request_total_ms_p50?: number;
  cold_start?: { wall_ms: number; worker_total_ms: number; model_load_ms: Record<string, number> | null };
  usd_per_million?: number;
  ortweb_usd_per_million?: number;
  workers_ai_resnet50_usd_per_million?: number;
  isolate_estimate?: { load_peak_bytes: number; steady_peak_bytes: number; engine_wasm_bytes: number; other_wasm_bytes: number; js_heap_used_bytes: number };
  /**
   * workerd only: the isolate's memory measured inside workerd: V8's Runtime.getHeapUsage through the
   * inspector (JS heap + embedder + ArrayBuffer backing stores) plus the WASM memories /healthz
   * reports (encoder + image decoders; V8 does not count them as backing stores). `live_*`: right
   * after a full GC (bench/lib/gc-entry.ts), once the model has loaded and after the warm requests;
   * `raw_*`: peaks without a GC, sampled during the cold request's load and after every warm request,
   * so they include buffers V8 had not collected yet.
   */
  isolate_workerd?: { wasm_bytes: number; live_after_load_bytes: number; live_steady_bytes: number; raw_load_peak_bytes: number; raw_steady_peak_bytes: number; samples: number; steady_requests: number; gc_cycles_seen: number; heaps: { after_load_gc: IsolateHeap; steady_gc: IsolateHeap; steady_no_gc: IsolateHeap } };
}

interface MemoryChild { top: string; relaxed: boolean; engineWasmBytes: number; otherWasmBytes: number; jsHeapUsed: number; loadPeak: number; steadyPeak: number }

function engineMemory(m: EngineBenchModel, jpegPath: string): Promise<MemoryChild> {
  return runMemoryChild<MemoryChild>('engine-memory-child.ts', [m.edgeVit.path, join(m.dir, 'preprocessor_config.json'), m.labelSets.edgeVit, jpegPath]);
}

/** Cosine of the engine's and onnxruntime's int8 embeddings to the fp32 encoder's, over `n` test images. */
async function cosines(m: EngineBenchModel, testDir: string, engine: { encode(p: Float32Array): Float32Array }): Promise<{ engineMin: number; engineMean: number; ortMin: number; n: number }> {
  const ckpt = loadCheckpoint(m.dir);
  const folder = scanImageFolder(testDir);
  const step = Math.max(1, Math.floor(folder.items.length / m.cosineImages));
  const images = await loadImages(folder.items.filter((_, i) => i % step === 0).slice(0, m.cosineImages));
  const proc = ckpt.imageProcessor;
  const size = proc.cropSize.height;
  const per = 3 * size * size;
  const pixels = proc.preprocessBatch(images.map((i) => i.image));
  const embed = async (path: string): Promise<Float32Array[]> => {
    const s = await ortNode.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    try {
      const out: Float32Array[] = [];
      for (let i = 0; i < images.length; i += 16) {
        const b = Math.min(16, images.length - i);
        const r = await s.run({ [s.inputNames[0]!]: new ortNode.Tensor('float32', pixels.slice(i * per, (i + b) * per), [b, 3, size, size]) });
        const data = r['image_embeds']!.data as Float32Array;
        const dim = data.length / b;
        for (let j = 0; j < b; j++) out.push(l2Normalize(data.slice(j * dim, (j + 1) * dim)));
      }
      return out;
    } finally {
      await s.release();
    }
  };
  const ref = await embed(ckpt.visionOnnxPath);
  const ort8 = await embed(m.int8.onnxPath);
  const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, k) => s + x * b[k]!, 0);
  const eng = images.map((_, i) => cos(l2Normalize(engine.encode(pixels.slice(i * per, (i + 1) * per))), ref[i]!));
  const ortCos = images.map((_, i) => cos(ort8[i]!, ref[i]!));
  return { engineMin: round(Math.min(...eng), 6), engineMean: round(eng.reduce((a, b) => a + b, 0) / eng.length, 6), ortMin: round(Math.min(...ortCos), 6), n: images.length };
}

const ADMIN_TOKEN = 'bench-engine-admin-token-0123456789abcdef';
const TENANT = 'bench-engine';

interface WorkerdFigures {
  cold: { wallMs: number; total: number; load: Record<string, number> | null };
  encode: number;
  total: number;
  split: { decode: number; preprocess: number; encode: number; score: number; total: number };
  wall: number;
  plainEncode: number;
  relaxed: boolean;
  plainRelaxed: boolean;
  wasmMemory: number;
  decoderWasm: number;
  isolate: { loadPeak: number; steadyPeak: number; samples: number; steady: IsolateHeap; afterLoad: IsolateHeap; live: IsolateHeap; requests: number; collections: number };
  ortEncode: number;
  ortTotal: number;
}

/** The engine and onnxruntime-web in workerd: the real worker serving each model from local R2. */
async function workerd(m: EngineBenchModel, jpeg: Uint8Array<ArrayBuffer>, log: (s: string) => void): Promise<WorkerdFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'prompt-edge-engine-bench-'));
  try {
    const edge = readModelFolder(m.edgeVit.dir, { id: `${m.model}-edge-vit` });
    const onnx = readModelFolder(m.int8.external ? join(m.int8.dir) : m.int8.dir, { id: `${m.model}-int8`, ...(m.int8.external ? { onnx: m.int8.external.onnxPath } : {}) });
    const vars = (sha: string, extra: Record<string, string> = {}) => ({ ADMIN_TOKEN, MAX_IMAGE_PIXELS: '40000000', VISION_MODEL_SHA256: sha, ...extra });
    let key = '';
    for (const [folder, labelSet, name] of [[edge, m.labelSets.edgeVit, 'edge'], [onnx, m.labelSets.int8, 'ortweb']] as const) {
      const worker = await startWorker(writeConfig(dir, vars(folder.sha256)));
      try {
        const client = new AdminClient({ baseUrl: worker.url, adminToken: ADMIN_TOKEN, local: false, devVars: {} }, { timeoutMs: 600_000 });
        if (key === '') key = (await client.createTenant(TENANT)).key;
        log(`engine row, workerd: publishing ${folder.manifest.id} to local R2`);
        for (const file of folder.uploads) await client.putModelFile(folder.sha256, file.name, file.bytes(), file.entry.sha256);
        await client.publishModel(folder.sha256, folder.manifest);
        const artifact = decodeLabelSet(new Uint8Array(readFileSync(labelSet)));
        await client.putLabelSet(TENANT, name, artifact.modelSha256 === folder.sha256 ? new Uint8Array(readFileSync(labelSet)) : encodeLabelSet({ ...artifact, modelSha256: folder.sha256 }));
      } finally {
        await worker.stop();
      }
    }
    const run = async (sha: string, labelSet: string, extra: Record<string, string> = {}, memoryRequests = 0) => {
      // --expose-gc and the bench entry's GET /__bench/gc: heap figures of live memory after a full GC.
      const worker = await startWorker(writeConfig(dir, vars(sha, extra), { gcRoute: true }), undefined, { MINIFLARE_WORKERD_V8_FLAGS: '--expose-gc' });
      const inspector = await InspectorClient.connect(worker.inspectorPort);
      try {
        // The isolate's memory while the first request loads the model from R2: sampled every 20 ms
        // (the isolate answers between R2 chunks), then once more when the request has finished.
        let loading = true;
        let loadPeak = 0;
        let samples = 0;
        const sample = async () => { loadPeak = Math.max(loadPeak, isolateBytes(await inspector.heap())); samples++; };
        const sampler = (async () => { while (loading) { await sample(); await new Promise((r) => setTimeout(r, 20)); } })();
        const first = await classifyOnce(worker.url, jpeg, labelSet, key).finally(() => { loading = false; });
        await sampler;
        await sample();
        const gc = async () => {
          // Twice, then a pause: V8 frees ArrayBuffer backing stores on a sweeper thread after the GC.
          for (let i = 0; i < 2; i++) {
            const r = await fetch(`${worker.url}/__bench/gc`);
            if (!r.ok) throw new Error(`/__bench/gc answered ${r.status}: ${await r.text()}`);
            await new Promise((res) => setTimeout(res, 200));
          }
          return inspector.heap();
        };
        const afterLoad = await gc();
        const h0 = (await (await fetch(`${worker.url}/healthz`)).json()) as { model_load_ms?: Record<string, number> };
        for (let i = 0; i < m.reps.warmup; i++) await classifyOnce(worker.url, jpeg, labelSet, key);
        const runs = [];
        let steadyPeak = 0;
        let steady = await inspector.heap();
        for (let i = 0; i < m.reps.n; i++) {
          runs.push(await classifyOnce(worker.url, jpeg, labelSet, key));
          steady = await inspector.heap();
          steadyPeak = Math.max(steadyPeak, isolateBytes(steady));
        }
        // More requests, memory only: each leaves a few MB of ArrayBuffers that V8 collects in cycles,
        // so the raw peak is only seen over several of them. Collections counted as drops > 4 MB.
        let collections = 0;
        let previous = isolateBytes(steady);
        for (let i = 0; i < memoryRequests; i++) {
          await classifyOnce(worker.url, jpeg, labelSet, key);
          const now = isolateBytes(await inspector.heap());
          if (now < previous - 4 * 2 ** 20) collections++;
          previous = now;
          steadyPeak = Math.max(steadyPeak, now);
        }
        const live = await gc();
        const h = (await (await fetch(`${worker.url}/healthz`)).json()) as { engine_relaxed_simd?: boolean | null; wasm_memory_bytes?: number | null; image_decoder_wasm_bytes?: number };
        return {
          isolate: { loadPeak, steadyPeak, samples, steady, afterLoad, live, requests: runs.length + memoryRequests, collections },
          cold: { wallMs: round(first.wallMs), total: first.timings.total, load: h0.model_load_ms ?? null },
          encode: median(runs.map((r) => r.timings.encode)),
          total: median(runs.map((r) => r.timings.total)),
          split: { decode: median(runs.map((r) => r.timings.decode)), preprocess: median(runs.map((r) => r.timings.preprocess)), encode: median(runs.map((r) => r.timings.encode)), score: median(runs.map((r) => r.timings.score)), total: median(runs.map((r) => r.timings.total)) },
          wall: round(median(runs.map((r) => r.wallMs))),
          relaxed: h.engine_relaxed_simd === true,
          wasmMemory: h.wasm_memory_bytes ?? 0,
          decoderWasm: h.image_decoder_wasm_bytes ?? 0,
        };
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${worker.log().slice(-3000)}`);
      } finally {
        inspector.close();
        await worker.stop();
      }
    };
    log(`engine row, workerd: ${m.model} on the engine (relaxed SIMD), fresh isolate`);
    const relaxed = await run(edge.sha256, 'edge', {}, m.memoryRequests);
    log(`engine row, workerd: ${m.model} on the engine (EDGE_VIT_SIMD=plain)`);
    const plain = await run(edge.sha256, 'edge', { EDGE_VIT_SIMD: 'plain' });
    log(`engine row, workerd: ${m.model} int8 on onnxruntime-web`);
    const ort = await run(onnx.sha256, 'ortweb');
    return { cold: relaxed.cold, encode: relaxed.encode, total: relaxed.total, split: relaxed.split, wall: relaxed.wall, plainEncode: plain.encode, relaxed: relaxed.relaxed, plainRelaxed: plain.relaxed, wasmMemory: relaxed.wasmMemory, decoderWasm: relaxed.decoderWasm, isolate: relaxed.isolate, ortEncode: ort.encode, ortTotal: ort.total };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runEngine(models: readonly EngineBenchModel[], jpeg: Uint8Array<ArrayBuffer>, jpegPath: string, testDir: string, log: (s: string) => void): Promise<EngineRow[]> {
  await initNodeImageCodecs();
  const image = await decodeImage(jpeg);
  const rows: EngineRow[] = [];
  for (const m of models) {
    const ckpt = loadCheckpoint(m.dir);
    const pixels = ckpt.imageProcessor.preprocess(image);
    const size = ckpt.imageProcessor.cropSize.height;
    log(`engine row, node-wasm: ${m.model}: edge-vit (relaxed, plain SIMD) vs onnxruntime-web int8 vs onnxruntime-node int8`);
    const relaxed = loadEdgeVitFile(m.edgeVit.path);
    const plain = loadEdgeVitFile(m.edgeVit.path, { plainSimd: true });
    const eng = summarize(await timeRuns(m.reps.n, m.reps.warmup, () => relaxed.encode(pixels)));
    const engPlain = summarize(await timeRuns(m.reps.n, m.reps.warmup, () => plain.encode(pixels)));
    const ort = await runEncoder(`${m.model} int8`, m.int8.onnxPath, pixels, size, m.reps);
    log(`engine row: ${m.model}: cosine to fp32 over ${m.cosineImages} test images`);
    const cos = await cosines(m, testDir, relaxed);
    log(`engine row: ${m.model}: isolate memory of the worker path (fresh process)`);
    const mem = await engineMemory(m, jpegPath);
    const isolate = { load_peak_bytes: mem.loadPeak, steady_peak_bytes: mem.steadyPeak, engine_wasm_bytes: mem.engineWasmBytes, other_wasm_bytes: mem.otherWasmBytes, js_heap_used_bytes: mem.jsHeapUsed };
    const common = {
      model: m.model,
      ortnode_int8_encode_ms_p50: ort.node.p50,
      cosine_min_vs_fp32: cos.engineMin,
      cosine_mean_vs_fp32: cos.engineMean,
      ortint8_cosine_min_vs_fp32: cos.ortMin,
      images_for_cosine: cos.n,
    };
    rows.push({
      ...common,
      runtime: 'node-wasm',
      engine_encode_ms_p50: eng.p50,
      engine_plain_simd_encode_ms_p50: engPlain.p50,
      ortweb_int8_encode_ms_p50: ort.web.p50,
      speedup_vs_ortweb: round(ort.web.p50 / eng.p50),
      relaxed: relaxed.relaxed,
      wasm_memory_bytes: relaxed.memoryBytes,
      isolate_bytes_peak: Math.max(mem.loadPeak, mem.steadyPeak),
      isolate_estimate: isolate,
    });
    const w = await workerd(m, jpeg, log);
    rows.push({
      ...common,
      runtime: 'workerd',
      engine_encode_ms_p50: w.encode,
      engine_plain_simd_encode_ms_p50: w.plainEncode,
      ortweb_int8_encode_ms_p50: w.ortEncode,
      speedup_vs_ortweb: round(w.ortEncode / Math.max(w.encode, 0.5)),
      relaxed: w.relaxed && !w.plainRelaxed,
      wasm_memory_bytes: w.wasmMemory,
      // Measured inside workerd, live memory (after a full GC): see isolate_workerd.
      isolate_bytes_peak: Math.max(isolateBytes(w.isolate.afterLoad), isolateBytes(w.isolate.live)) + w.wasmMemory + w.decoderWasm,
      isolate_workerd: {
        wasm_bytes: w.wasmMemory + w.decoderWasm,
        live_after_load_bytes: isolateBytes(w.isolate.afterLoad) + w.wasmMemory + w.decoderWasm,
        live_steady_bytes: isolateBytes(w.isolate.live) + w.wasmMemory + w.decoderWasm,
        raw_load_peak_bytes: w.isolate.loadPeak + w.wasmMemory + w.decoderWasm,
        raw_steady_peak_bytes: w.isolate.steadyPeak + w.wasmMemory + w.decoderWasm,
        samples: w.isolate.samples,
        steady_requests: w.isolate.requests,
        gc_cycles_seen: w.isolate.collections,
        heaps: { after_load_gc: w.isolate.afterLoad, steady_gc: w.isolate.live, steady_no_gc: w.isolate.steady },
      },
      request_total_ms_p50: w.total,
      request_split_ms_p50: w.split,
      request_over_encode: round(w.total / Math.max(w.encode, 0.5)),
      request_wall_ms_p50: w.wall,
      ortweb_request_total_ms_p50: w.ortTotal,
      cold_start: { wall_ms: w.cold.wallMs, worker_total_ms: w.cold.total, model_load_ms: w.cold.load },
      usd_per_million: usdPerMillion(w.total),
      ortweb_usd_per_million: usdPerMillion(w.ortTotal),
      workers_ai_resnet50_usd_per_million: WORKERS_AI_RESNET50_USD_PER_MILLION,
    });
  }
  return rows;
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const f = (x: number | undefined) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** The row as Markdown tables (for run.ts's formatResults). */
export function formatEngine(rows: readonly EngineRow[]): string[] {
  const lines = [
    'edge-vit engine vs onnxruntime-web int8 vs onnxruntime-node int8 (one thread), the bench JPEG (640x480), encode p50 ms; workerd figures are the worker\'s own timings_ms (whole ms)',
    '',
    '| model | runtime | engine (relaxed) | engine (plain SIMD) | onnxruntime-web int8 | onnxruntime-node int8 | ortweb / engine | relaxed ran | WASM memory MiB | isolate peak MiB (workerd: live; node-wasm: estimate) | cosine min vs fp32 (engine / ort int8, images) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.runtime} | ${f(r.engine_encode_ms_p50)} | ${f(r.engine_plain_simd_encode_ms_p50)} | ${f(r.ortweb_int8_encode_ms_p50)} | ${f(r.ortnode_int8_encode_ms_p50)} | ${r.speedup_vs_ortweb.toFixed(2)}x | ${r.relaxed ? 'yes' : 'no'} | ${mib(r.wasm_memory_bytes)} | ${mib(r.isolate_bytes_peak)} | ${r.cosine_min_vs_fp32.toFixed(6)} / ${r.ortint8_cosine_min_vs_fp32.toFixed(6)} (${r.images_for_cosine}) |`);
  }
  lines.push('', 'In workerd (wrangler dev, model from local R2): whole request vs encode, cold start, cost per million classifications at Workers Standard prices ($0.02 per million CPU-ms + $0.30 per million requests; Workers AI resnet-50: $2.81)', '');
  lines.push('| model | engine encode | whole request (worker) | request / encode | decode / preprocess / score | wall p50 | cold start wall | cold: model load (fetch / verify / engine) | $ per million (engine) | $ per million (onnxruntime-web int8, request ' + 'ms) | Workers AI resnet-50 |');
  lines.push('| --- | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: | --- | ---: |');
  for (const r of rows.filter((x) => x.runtime === 'workerd')) {
    const l = r.cold_start?.model_load_ms;
    const sp = r.request_split_ms_p50;
    lines.push(`| ${r.model} | ${f(r.engine_encode_ms_p50)} | ${f(r.request_total_ms_p50)} | ${r.request_over_encode?.toFixed(2)}x | ${sp ? `${f(sp.decode)} / ${f(sp.preprocess)} / ${f(sp.score)}` : '-'} | ${f(r.request_wall_ms_p50)} | ${f(r.cold_start?.wall_ms)} | ${l ? `${f(l.total)} (${f(l.fetch)} / ${f(l.verify)} / ${f(l.session)})` : '?'} | $${r.usd_per_million?.toFixed(2)} | $${r.ortweb_usd_per_million?.toFixed(2)} (${f(r.ortweb_request_total_ms_p50)} ms) | $${r.workers_ai_resnet50_usd_per_million?.toFixed(2)} |`);
  }
  lines.push('', 'Isolate memory, MiB: in workerd (V8 Runtime.getHeapUsage through the inspector + the WASM memories from /healthz; live = right after a full GC, raw = peak without one, so uncollected buffers count) and the Node estimate of the worker path (engine-memory-child.ts; Node\'s own heap included)', '');
  lines.push('| model | WASM (encoder + decoders) | workerd live after load | workerd live, steady | workerd raw peak, load | workerd raw peak, steady | Node estimate: load peak / steady peak |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows.filter((x) => x.runtime === 'workerd')) {
    const w = r.isolate_workerd;
    const n = rows.find((x) => x.runtime === 'node-wasm' && x.model === r.model)?.isolate_estimate;
    if (!w) continue;
    lines.push(`| ${r.model} | ${mib(w.wasm_bytes)} | ${mib(w.live_after_load_bytes)} | ${mib(w.live_steady_bytes)} | ${mib(w.raw_load_peak_bytes)} | ${mib(w.raw_steady_peak_bytes)} | ${n ? `${mib(n.load_peak_bytes)} / ${mib(n.steady_peak_bytes)}` : '-'} |`);
  }
  lines.push('');
  return lines;
}
