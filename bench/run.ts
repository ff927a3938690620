/**
 * `npm run bench`: every comparison runs both sides in this one run, on this machine, with the
 * same image and the same weights. Prints Markdown tables (stdout) and writes bench/results.json.
 * Progress goes to stderr. Generated models and label sets are cached in .cache/bench.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '../src/core/image/decode.ts';
import { loadCheckpoint } from '../src/train/checkpoint.ts';
import { quantizeModel } from '../src/train/export/quantize.ts';
import { initNodeImageCodecs } from '../src/train/image-codecs-node.ts';
import { ensureEdgeVit, ensureLabelSets, type BenchLabelSets, ensureParts, ensureSynth, ensureVariant, ensureVitB32, THOUSAND_LABELS, type ModelVariant } from './lib/models.ts';
import { BENCH_CACHE, CIFAR10_LABELS, CIFAR_TEST, CIFAR_TRAIN, DEFAULT_MODEL_DIR, REPO_ROOT } from './lib/paths.ts';
import { makeTestJpeg } from './lib/test-image.ts';
import { runCoopStep, type CoopStepResult } from './rows/coop-step.ts';
import { runEncoder, type EncoderResult } from './rows/encoder.ts';
import { formatEngine, runEngine, type EngineBenchModel, type EngineRow } from './rows/engine.ts';
import { formatModelFromR2, modelFromR2Cases, runModelFromR2, type ModelFromR2Result } from './rows/model-from-r2.ts';
import { runMemory, type MemoryResult } from './rows/memory.ts';
import { runPromptEdgeNode, type PromptEdgeNodeResult } from './rows/prompt-edge-node.ts';
import { ensureAccuracyLabelSets, runQuantAccuracy, runSynthCosine, type QuantAccuracyResult, type SynthCosineRow } from './rows/quant-accuracy.ts';
import { runScoring, type ScoringResult } from './rows/scoring.ts';
import { loadTransformers, runTransformersJs, TRANSFORMERS_PACKAGE, type TransformersJsResult } from './rows/transformers-js.ts';
import { runWorkerLatency, type WorkerLatencyResult } from './rows/worker-latency.ts';
import { runLoad, type LoadResult } from './rows/load.ts';

export const BENCH_ROWS = ['worker', 'load', 'r2', 'engine', 'transformers', 'encoder', 'memory', 'scoring', 'coop', 'accuracy'] as const;
export type BenchRow = (typeof BENCH_ROWS)[number];

/** The engine row's models. */
export const ENGINE_MODELS = ['tiny-clip-cifar10', 'vit-b-32', 'vit-b-16'] as const;
export type EngineModel = (typeof ENGINE_MODELS)[number];

export interface BenchOptions {
  readonly rows: readonly BenchRow[];
  /** The engine row's models (default all). */
  readonly engineModels?: readonly EngineModel[];
  /** Fewer repetitions (for a smoke run). */
  readonly quick: boolean;
  readonly out: string;
  readonly log: (message: string) => void;
}

export interface BenchResults {
  machine: Record<string, unknown>;
  started: string;
  seconds?: number;
  loadAverage: { start: number[]; end?: number[] };
  /** Wall seconds each row took (models and label sets generated before the rows are not in them). */
  rowSeconds: Record<string, number>;
  worker?: WorkerLatencyResult[];
  load?: LoadResult;
  modelFromR2?: ModelFromR2Result[];
  /** issue 9's machine-readable figures: one object per model and runtime. */
  engine?: EngineRow[];
  transformersJs?: TransformersComparison | { skipped: string };
  encoder?: EncoderResult[];
  memory?: MemoryResult[];
  scoring?: ScoringResult[];
  coopStep?: CoopStepResult;
  quantAccuracy?: QuantAccuracyResult & { vitB32Cosine?: SynthCosineRow[] };
  errors: Record<string, string>;
}

/** The Transformers.js pipeline and prompt-edge on the same image, model files and labels. */
export interface TransformersComparison {
  readonly transformersJs: TransformersJsResult[];
  /** CPUs here: onnxruntime-node's default (Transformers.js sets no thread count) is one thread per physical core. */
  readonly machineCpus: number;
  /** prompt-edge's request path on onnxruntime-node (the pipeline's runtime), same encoder as the worker. */
  readonly promptEdgeNode: PromptEdgeNodeResult[];
}

/** Parts of the split-encoder memory rows: ViT-B/32's 12 layers, 3 a part (about 14 MB of q4 weights each). */
const MEMORY_PARTS = 4;

/** Which worker model serves the same weights as a Transformers.js model. */
const WORKER_MODEL_FOR: Record<string, string> = { 'tiny-clip-cifar10': 'tiny-clip-cifar10', 'ViT-B/32': 'vit-b-32-int8' };

function machine(): Record<string, unknown> {
  let lscpu = '';
  try { lscpu = execFileSync('lscpu', { encoding: 'utf8' }); } catch { /* not Linux */ }
  const field = (name: string) => lscpu.match(new RegExp(`^${name}:\\s+(.+)$`, 'm'))?.[1]?.trim();
  const ortWebVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8')) as { version: string }).version;
  const ortNodeVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
  return {
    cpu: field('Model name') ?? cpus()[0]?.model,
    cpus: cpus().length,
    flags: (field('Flags') ?? '').split(' ').filter((f) => ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni'].includes(f)),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeWeb: ortWebVersion,
    onnxruntimeNode: ortNodeVersion,
  };
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

export async function runBench(opts: BenchOptions): Promise<BenchResults> {
  const t0 = performance.now();
  const log = opts.log;
  const want = (r: BenchRow) => opts.rows.includes(r);
  const results: BenchResults = { machine: machine(), started: new Date().toISOString(), loadAverage: { start: loadavg().map((x) => Math.round(x * 100) / 100) }, rowSeconds: {}, errors: {} };
  const attempt = async (row: string, fn: () => Promise<void>) => {
    const started = performance.now();
    try {
      await fn();
    } catch (err) {
      results.errors[row] = (err as Error).message;
      log(`${row}: FAILED: ${(err as Error).message.split('\n')[0]}`);
    }
    results.rowSeconds[row] = Math.round((performance.now() - started) / 100) / 10;
  };

  const jpeg = await makeTestJpeg(640, 480);
  mkdirSync(BENCH_CACHE, { recursive: true }); // absent in a fresh clone
  const jpegPath = join(BENCH_CACHE, 'test-640x480.jpg');
  writeFileSync(jpegPath, jpeg);
  const needVit = want('worker') || want('r2') || want('encoder') || want('memory') || want('transformers') || want('coop') || want('accuracy');
  const vitDir = needVit ? await ensureVitB32(log) : '';
  const variants: Partial<Record<'fp32' | 'fp16' | 'int8' | 'q4' | 'q4b128', ModelVariant>> = {};
  if (needVit) {
    variants.int8 = ensureVariant(vitDir, 'vit-b-32', 'int8', log);
    if (want('memory') || want('worker') || want('r2') || want('encoder') || want('accuracy')) variants.q4 = ensureVariant(vitDir, 'vit-b-32', 'q4', log);
    if (want('memory')) variants.q4b128 = ensureVariant(vitDir, 'vit-b-32', 'q4', log, undefined, { blockSize: 128, zeroPoints: false });
    if (want('memory')) variants.fp16 = ensureVariant(vitDir, 'vit-b-32', 'fp16', log);
    if (want('memory') || want('accuracy')) variants.fp32 = ensureVariant(vitDir, 'vit-b-32', 'fp32', log);
  }
  const defaultSets = await ensureLabelSets(DEFAULT_MODEL_DIR, 'tiny-clip-cifar10', log);
  const vitSets = needVit ? await ensureLabelSets(variants.int8!.dir, 'vit-b-32-int8', log) : undefined;
  const vitQ4Sets = want('worker') ? await ensureLabelSets(variants.q4!.dir, 'vit-b-32-q4', log, vitSets) : undefined;
  const labelCounts = { cifar10: CIFAR10_LABELS.length, l1000: THOUSAND_LABELS.length };

  if (want('load')) await attempt('load', async () => {
    log('load check: POST /v1/classify at concurrency 1, 8, 32, 64 against one wrangler dev (tiny-clip-cifar10, 10 labels)');
    results.load = await runLoad({ id: 'tiny-clip-cifar10', onnxPath: join(DEFAULT_MODEL_DIR, 'onnx', 'vision_model.onnx'), modelDir: DEFAULT_MODEL_DIR, labelSets: defaultSets.files }, 'cifar10', jpeg, { seconds: opts.quick ? 3 : 10, log });
  });

  if (want('scoring')) await attempt('scoring', async () => {
    log('scoring alone (cosine at 10 .. 100 000 labels; linear and tip-adapter heads at 10 and 1 000)');
    results.scoring = await runScoring([10, 1000, 10_000, 100_000]);
  });

  if (want('encoder')) await attempt('encoder', async () => {
    results.encoder = [];
    await initNodeImageCodecs();
    const image = await decodeImage(jpeg);
    const reps = opts.quick ? { n: 3, warmup: 1 } : { n: 10, warmup: 2 };
    for (const [name, dir, onnx] of [
      ['tiny-clip-cifar10 fp32', DEFAULT_MODEL_DIR, join(DEFAULT_MODEL_DIR, 'onnx', 'vision_model.onnx')],
      ['ViT-B/32 fp32', vitDir, join(vitDir, 'onnx', 'vision_model.onnx')],
      ['ViT-B/32 int8', variants.int8!.dir, variants.int8!.onnxPath],
      ['ViT-B/32 q4', variants.q4!.dir, variants.q4!.onnxPath],
    ] as const) {
      log(`encoder alone: ${name}, onnxruntime-web (WASM) vs onnxruntime-node, one thread`);
      const proc = loadCheckpoint(dir).imageProcessor;
      results.encoder.push(await runEncoder(name, onnx, proc.preprocess(image), proc.cropSize.height, name.startsWith('tiny') ? { n: opts.quick ? 20 : 100, warmup: 10 } : reps));
    }
  });

  if (want('worker')) await attempt('worker', async () => {
    results.worker = [];
    for (const m of [
      { id: 'tiny-clip-cifar10', onnxPath: join(DEFAULT_MODEL_DIR, 'onnx', 'vision_model.onnx'), modelDir: DEFAULT_MODEL_DIR, labelSets: defaultSets.files, n: opts.quick ? 10 : 60, warmup: 10 },
      { id: 'vit-b-32-int8', onnxPath: variants.int8!.onnxPath, modelDir: variants.int8!.dir, labelSets: vitSets!.files, n: opts.quick ? 5 : 20, warmup: 3 },
      { id: 'vit-b-32-q4', onnxPath: variants.q4!.onnxPath, modelDir: variants.q4!.dir, labelSets: vitQ4Sets!.files, n: opts.quick ? 3 : 6, warmup: 2 },
    ]) {
      log(`POST /v1/classify in workerd (wrangler dev): ${m.id}`);
      results.worker.push(await runWorkerLatency(m, labelCounts, jpeg, { n: m.n, warmup: m.warmup }));
    }
    // Diagnostic, not a configuration: workerd compiles WASM with an explicit bounds check on every
    // memory access, where Node relies on guard pages (V8's trap handler); without the checks
    // (unsafe, V8 says "for performance testing only") the same encoder runs at Node's speed. This
    // run shows, in every bench, how much of the gap to the encoder row that explains.
    const int8 = { id: 'vit-b-32-int8', onnxPath: variants.int8!.onnxPath, modelDir: variants.int8!.dir, labelSets: vitSets!.files };
    log('POST /v1/classify in workerd without WASM bounds checks (diagnostic): vit-b-32-int8');
    results.worker.push(await runWorkerLatency(int8, labelCounts, jpeg, { n: opts.quick ? 5 : 20, warmup: 5, v8Flags: '--no-wasm-bounds-checks' }));
  });

  if (want('r2')) await attempt('r2', async () => {
    const cases = modelFromR2Cases({ defaultLabelSet: defaultSets.files.cifar10, vitInt8: variants.int8!, vitQ4: variants.q4!, parts: MEMORY_PARTS, vitLabelSet: vitSets!.files.cifar10 });
    results.modelFromR2 = await runModelFromR2(cases, jpeg, opts.quick ? { coldStarts: 1, warm: 3 } : { coldStarts: 2, warm: 5 }, log);
  });

  if (want('memory')) await attempt('memory', async () => {
    results.memory = [];
    for (const v of [variants.fp32!, variants.fp16!, variants.int8!, variants.q4!]) {
      log(`memory of the worker path: ${v.name} (single file)`);
      results.memory.push(await runMemory(v.name, { onnxPath: v.onnxPath }, vitSets!.files.l1000, jpegPath));
    }
    for (const v of [variants.int8!, variants.q4!, variants.q4b128!]) {
      log(`memory of the worker path: ${v.name} (external data)`);
      results.memory.push(await runMemory(v.name, { onnxPath: v.external!.onnxPath, dataPath: v.external!.dataPath }, vitSets!.files.l1000, jpegPath));
    }
    for (const v of [variants.int8!, variants.q4!]) {
      const parts = ensureParts(v, MEMORY_PARTS, log);
      log(`memory of the worker path: ${v.name} (external data, ${parts.parts} parts)`);
      results.memory.push(await runMemory(v.name, parts, vitSets!.files.l1000, jpegPath));
    }
  });

  if (want('transformers')) await attempt('transformers', async () => {
    const tjs = await loadTransformers();
    if (!tjs) {
      results.transformersJs = { skipped: `${TRANSFORMERS_PACKAGE} is not installed (npm install)` };
      log(`Transformers.js: skipped, ${TRANSFORMERS_PACKAGE} not installed`);
      return;
    }
    // Transformers.js loads onnx/model_quantized.onnx for dtype q8: the whole model with the same int8 scheme as the worker's encoder.
    const q8 = join(vitDir, 'onnx', 'model_quantized.onnx');
    if (!existsSync(q8)) {
      log('quantising the ViT-B/32 whole model for Transformers.js (dtype q8)');
      writeFileSync(q8, quantizeModel(new Uint8Array(readFileSync(join(vitDir, 'onnx', 'model.onnx'))), { precision: 'int8' }).bytes);
    }
    const transformersJs: TransformersJsResult[] = [];
    for (const [dir, name, dtype] of [[DEFAULT_MODEL_DIR, 'tiny-clip-cifar10', 'fp32'], [vitDir, 'ViT-B/32', 'q8']] as const) {
      for (const labels of [CIFAR10_LABELS, THOUSAND_LABELS]) {
        const big = name === 'ViT-B/32';
        const runs = opts.quick ? 1 : big && labels.length > 10 ? 3 : big || labels.length > 10 ? 5 : 20;
        log(`Transformers.js pipeline: ${name} (${dtype}), ${labels.length} labels, ${runs} run(s)`);
        transformersJs.push(await runTransformersJs(tjs, dir, name, jpegPath, labels, { runs, warmup: big && labels.length > 10 ? 1 : 2, dtype }));
      }
    }
    const promptEdgeNode: PromptEdgeNodeResult[] = [];
    for (const [name, dir, onnx, sets] of [
      ['tiny-clip-cifar10', DEFAULT_MODEL_DIR, join(DEFAULT_MODEL_DIR, 'onnx', 'vision_model.onnx'), defaultSets],
      ['vit-b-32-int8', variants.int8!.dir, variants.int8!.onnxPath, vitSets!],
    ] as const) {
      log(`prompt-edge request path on onnxruntime-node: ${name}`);
      const big = name !== 'tiny-clip-cifar10';
      promptEdgeNode.push(...await runPromptEdgeNode(name, onnx, join(dir, 'preprocessor_config.json'), [sets.files.cifar10, sets.files.l1000], jpeg, { n: opts.quick ? 3 : big ? 10 : 30, warmup: 3 }));
    }
    results.transformersJs = { transformersJs, machineCpus: cpus().length, promptEdgeNode };
  });

  if (want('coop')) await attempt('coop', async () => {
    log('CoOp training step at ViT-B/32 text size vs PyTorch');
    results.coopStep = await runCoopStep(vitDir, opts.quick ? { steps: 2, warmup: 1 } : { steps: 5, warmup: 1 });
  });

  if (want('accuracy')) await attempt('accuracy', async () => {
    log('accuracy of fp16/int8/q4 encoders on cifar10-fewshot test (default model)');
    const sets = await ensureAccuracyLabelSets(DEFAULT_MODEL_DIR, CIFAR_TRAIN, log);
    results.quantAccuracy = await runQuantAccuracy(DEFAULT_MODEL_DIR, CIFAR_TEST, sets, log);
    log('cosine to fp32 of the int8 and q4 encoders at ViT-B/32 size (synthetic weights)');
    results.quantAccuracy.vitB32Cosine = await runSynthCosine(vitDir, CIFAR_TEST, [
      { name: 'int8 dynamic', onnxPath: variants.int8!.onnxPath },
      { name: 'q4 block 32', onnxPath: variants.q4!.onnxPath },
    ], variants.fp32!.onnxPath, opts.quick ? 8 : 32);
  });

  if (want('engine')) await attempt('engine', async () => {
    const models: EngineBenchModel[] = [];
    const add = async (model: string, dir: string, int8Sets: BenchLabelSets | undefined, cosineImages: number, reps: { n: number; warmup: number }, memoryRequests: number) => {
      const int8 = ensureVariant(dir, model, 'int8', log);
      const sets = int8Sets ?? (await ensureLabelSets(int8.dir, `${model}-int8`, log));
      const edgeVit = ensureEdgeVit(dir, model, log);
      const edgeSets = await ensureLabelSets(edgeVit.dir, `${model}-edge-vit`, log, sets);
      models.push({ model, dir, int8, edgeVit, labelSets: { edgeVit: edgeSets.files.cifar10, int8: sets.files.cifar10 }, cosineImages, reps, memoryRequests });
    };
    const q = opts.quick;
    const engineModels = opts.engineModels ?? ENGINE_MODELS;
    if (engineModels.includes('tiny-clip-cifar10')) await add('tiny-clip-cifar10', DEFAULT_MODEL_DIR, defaultSets, q ? 20 : 200, q ? { n: 10, warmup: 3 } : { n: 40, warmup: 10 }, q ? 20 : 150);
    if (engineModels.includes('vit-b-32')) await add('vit-b-32', await ensureVitB32(log), vitSets, q ? 8 : 32, q ? { n: 3, warmup: 2 } : { n: 12, warmup: 4 }, q ? 20 : 120);
    if (engineModels.includes('vit-b-16')) await add('vit-b-16', await ensureSynth('vit-b-16', log), undefined, q ? 4 : 16, q ? { n: 2, warmup: 1 } : { n: 6, warmup: 2 }, q ? 10 : 60);
    results.engine = await runEngine(models, jpeg, jpegPath, CIFAR_TEST, log);
  });

  results.loadAverage.end = loadavg().map((x) => Math.round(x * 100) / 100);
  results.seconds = Math.round((performance.now() - t0) / 100) / 10;
  writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

/** The results as Markdown tables. */
export function formatResults(r: BenchResults): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`Machine: ${m.cpu}, ${m.cpus} CPUs (${(m.flags as string[]).join(', ')}), ${m.memoryGiB} GiB; Node ${m.node}; onnxruntime-web ${m.onnxruntimeWeb}, onnxruntime-node ${m.onnxruntimeNode}. Load average at start ${r.loadAverage.start.join(' / ')}, at end ${r.loadAverage.end?.join(' / ') ?? '?'}. Bench took ${r.seconds ?? '?'} s (rows: ${Object.entries(r.rowSeconds ?? {}).map(([k, v]) => `${k} ${v} s`).join(', ')}).`, '');
  if (r.worker) {
    lines.push('POST /v1/classify in workerd (wrangler dev), 640x480 JPEG, ms', '', '| model | labels | wall p50 | wall p95 | worker total p50 | p95 | decode | preprocess | encode | score |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const w of r.worker) for (const l of Object.values(w.byLabelSet)) {
      lines.push(`| ${w.model} | ${l.labels} | ${ms(l.wall.p50)} | ${ms(l.wall.p95)} | ${ms(l.server.p50)} | ${ms(l.server.p95)} | ${ms(l.split.decode)} | ${ms(l.split.preprocess)} | ${ms(l.split.encode)} | ${ms(l.split.score)} |`);
    }
    lines.push('', 'Cold start (first request of a fresh isolate: ORT session, JPEG decoder, label set), ms', '', '| model | first request wall | worker total | of which encode | workerd RSS idle -> peak (MiB) |', '| --- | ---: | ---: | ---: | ---: |');
    for (const w of r.worker) lines.push(`| ${w.model} | ${ms(w.coldStart.wallMs)} | ${ms(w.coldStart.timings.total)} | ${ms(w.coldStart.timings.encode)} | ${mb(w.workerdRss.idle)} -> ${mb(w.workerdRss.peak)} |`);
    lines.push('');
  }
  if (r.modelFromR2) lines.push(...formatModelFromR2(r.modelFromR2));
  if (r.engine) lines.push(...formatEngine(r.engine));
  if (r.transformersJs) {
    if ('skipped' in r.transformersJs) lines.push(`Transformers.js comparison: skipped (${r.transformersJs.skipped}).`, '');
    else {
      const c = r.transformersJs;
      lines.push(
        `Same JPEG, same model files, same labels: Transformers.js zero-shot-image-classification pipeline (onnxruntime-node, its default threads: ${c.machineCpus} CPUs here) vs prompt-edge, p50 ms (Transformers.js / prompt-edge in brackets)`,
        '',
        '| model | labels | Transformers.js pipeline call | prompt-edge worker, own timings_ms.total | worker wall through wrangler dev | prompt-edge request path on onnxruntime-node | same top-1 |',
        '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
      );
      const ratio = (a: number, b: number | undefined) => (b ? ` (${(a / b).toFixed(1)}x)` : '');
      for (const t of c.transformersJs) {
        const workerModel = WORKER_MODEL_FOR[t.model];
        const w = r.worker?.find((x) => x.model === workerModel);
        const wl = w && Object.values(w.byLabelSet).find((l) => l.labels === t.labels);
        const pn = c.promptEdgeNode.find((p) => p.model === workerModel && p.labels === t.labels);
        const tops = [wl?.top, pn?.top].filter((x): x is string => x !== undefined);
        lines.push(`| ${t.model} (${t.dtype}: ${t.file}) | ${t.labels} | ${ms(t.p50Ms)} | ${wl ? `${ms(wl.server.p50)}${ratio(t.p50Ms, wl.server.p50)}` : 'n/a'} | ${wl ? `${ms(wl.wall.p50)}${ratio(t.p50Ms, wl.wall.p50)}` : 'n/a'} | ${pn ? `${ms(pn.total.p50)}${ratio(t.p50Ms, pn.total.p50)}` : 'n/a'} | ${tops.length ? (tops.every((x) => x === t.top) ? 'yes' : `no (${t.top} vs ${tops.join(', ')})`) : 'n/a'} |`);
      }
      lines.push('');
    }
  }
  if (r.load) {
    const l = r.load;
    lines.push(`Load check: POST /v1/classify (640x480 JPEG, ${l.model}, label set ${l.labelSet}) against one wrangler dev on loopback, fixed time per level; latency is client wall time of successful requests, ms`, '', '| concurrency | seconds | ok | errors | requests/s | p50 | p95 | p99 | max |', '| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const x of l.levels) lines.push(`| ${x.concurrency} | ${x.seconds} | ${x.ok} | ${Object.entries(x.errors).map(([k, n]) => `${k}: ${n}`).join(', ') || '0'} | ${x.throughput} | ${ms(x.p50)} | ${ms(x.p95)} | ${ms(x.p99)} | ${ms(x.max)} |`);
    lines.push('');
  }
  if (r.encoder) {
    lines.push('Image encoder alone, batch 1, one thread, ms', '', '| model | onnxruntime-web WASM p50 | p95 | onnxruntime-node p50 | p95 | WASM / native |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const e of r.encoder) lines.push(`| ${e.model} | ${ms(e.web.p50)} | ${ms(e.web.p95)} | ${ms(e.node.p50)} | ${ms(e.node.p95)} | ${e.wasmOverNative.toFixed(2)}x |`);
    lines.push('');
  }
  if (r.memory) {
    lines.push('Worker-path memory, ViT-B/32 size (fresh process: onnxruntime-web + MozJPEG WASM, decode, preprocess, 3 encodes, scoring), MiB', '', '| encoder | layout | file(s) | WASM memory | JS heap | isolate at session creation (model bytes in JS) | isolate after, model bundled (bytes held) | isolate after, bytes dropped (R2) | Node max RSS |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const x of r.memory) lines.push(`| ${x.model} | ${x.layout} | ${mb(x.modelFileBytes)} | ${mb(x.wasmBytes)} | ${mb(x.jsHeapUsed)} | ${mb(x.isolateBytesAtCreate)} | ${x.layout === 'single file' ? mb(x.isolateBytes) : '-'} | ${mb(x.isolateBytesIfDropped)} | ${mb(x.nodeMaxRss)} |`);
    lines.push('');
  }
  if (r.scoring) {
    lines.push('Scoring alone (the label set\'s head + softmax + top-5, dim 512; Tip-Adapter with 16 cache keys per label)', '', '| head | labels | cache keys | p50 ms | us per label |', '| --- | ---: | ---: | ---: | ---: |');
    for (const s of r.scoring) lines.push(`| ${s.head} | ${s.labels.toLocaleString('en-US')} | ${s.cacheKeys.toLocaleString('en-US')} | ${s.p50Ms} | ${s.usPerLabel} |`);
    lines.push('');
  }
  if (r.coopStep) {
    const c = r.coopStep;
    lines.push('CoOp training step, ViT-B/32 text tower (512 wide, 12 layers, 8 heads, 49408 vocab), 10 classes, n_ctx 16, batch 32, s/step', '', '| implementation | tokens per prompt | median | min |', '| --- | ---: | ---: | ---: |');
    lines.push(`| prompt-edge (onnxruntime-node, hand-derived VJP) | ${c.promptEdge.seqLen} | ${c.promptEdge.medianS} | ${c.promptEdge.minS} |`);
    if (Array.isArray(c.torch)) for (const t of c.torch) lines.push(`| PyTorch ${t.version}, ${t.threads} threads, ${t.context === 'full' ? 'padded to 77 as CoOp does' : 'truncated at the end token'} | ${t.seqLen} | ${t.medianS} | ${t.minS} |`);
    else lines.push(`| PyTorch | | ${c.torch.error} | |`);
    lines.push('');
  }
  if (r.quantAccuracy) {
    const q = r.quantAccuracy;
    const names = Object.keys(q.labelSets);
    lines.push(`Quantised encoders, ${q.model} on ${q.n} cifar10-fewshot test images (onnxruntime-web)`, '', `| encoder | file MB | ${names.map((n) => `${n} accuracy`).join(' | ')} | top-1 agreement with fp32 | cosine to fp32 mean | min |`, `| --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`);
    for (const row of q.rows) lines.push(`| ${row.variant} | ${(row.fileBytes / 1e6).toFixed(2)} | ${names.map((n) => `${(row.accuracy[n]! * 100).toFixed(2)}%`).join(' | ')} | ${(row.agreementWithFp32 * 100).toFixed(2)}% | ${row.cosineToFp32.mean.toFixed(6)} | ${row.cosineToFp32.min.toFixed(6)} |`);
    lines.push('');
    if (q.vitB32Cosine) {
      lines.push('ViT-B/32 size (synthetic weights: no accuracy, only how far the embeddings move), cosine to fp32', '', '| encoder | mean | min |', '| --- | ---: | ---: |');
      for (const row of q.vitB32Cosine) lines.push(`| ${row.variant} | ${row.cosineToFp32.mean.toFixed(6)} | ${row.cosineToFp32.min.toFixed(6)} |`);
      lines.push('');
    }
  }
  for (const [row, msg] of Object.entries(r.errors)) lines.push(`Row "${row}" failed: ${msg.split('\n')[0]}`);
  return lines.join('\n');
}


