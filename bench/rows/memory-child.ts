/**
 * One worker-path memory measurement in a fresh process (spawned by rows/memory.ts): the same steps
 * and runtimes as the worker (onnxruntime-web WASM one thread, MozJPEG WASM decoder, the project's
 * preprocessing and scoring), then a JSON line with the memory it took.
 *
 *   args: <onnx file> <label-set file> <jpeg file> [external data file]
 */
import { readFileSync } from 'node:fs';
import { decodeImage } from '../../src/core/image/decode.ts';
import { ClipImageProcessor } from '../../src/core/image/clip-image-processor.ts';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { classifyEmbedding } from '../../src/core/scoring.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { loadOrtWeb, ortWasmMemoryBytes } from '../lib/ort-web-node.ts';

const [onnxPath, labelSetPath, jpegPath, dataPath] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
const collect = () => { gc?.(); gc?.(); };

const ort = await loadOrtWeb();
await initNodeImageCodecs();
collect();
const before = { ...process.memoryUsage(), wasm: ortWasmMemoryBytes() };

// As in the worker: the model bytes and the label set are held by JS (bundled modules, or read from R2).
const model = new Uint8Array(readFileSync(onnxPath!));
const labelSet = decodeLabelSet(new Uint8Array(readFileSync(labelSetPath!)));
const preprocessorConfig: unknown = JSON.parse(readFileSync(new URL('../../.cache/bench/preprocessor_224.json', import.meta.url), 'utf8'));
const processor = ClipImageProcessor.fromConfig(preprocessorConfig);
let external: Uint8Array | undefined = dataPath ? new Uint8Array(readFileSync(dataPath)) : undefined;
const session = await ort.InferenceSession.create(model, {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
  ...(external ? { externalData: [{ path: dataPath!.split('/').pop()!, data: external }] } : {}),
});
// External weights need not outlive session creation: a loader that fetched them can drop them.
external = undefined;
const jpeg = new Uint8Array(readFileSync(jpegPath!));
let top = '';
for (let i = 0; i < 3; i++) {
  const pixels = processor.preprocess(await decodeImage(jpeg));
  const s = processor.cropSize;
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', pixels, [1, 3, s.height, s.width]) });
  const emb = out[session.outputNames[0]!]!.data as Float32Array;
  top = classifyEmbedding(emb, labelSet.classEmbeddings, labelSet.labels, labelSet.logitScale, 1).top[0]!.label;
}
collect();
const after = { ...process.memoryUsage(), wasm: ortWasmMemoryBytes() };
/**
 * Peak RSS of this process. /proc's VmHWM belongs to the address space exec created; getrusage's
 * maxRSS is not reset by exec on Linux and so reports the (larger) spawning bench process.
 */
function peakRss(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
process.stdout.write(`${JSON.stringify({
  top,
  modelBytes: model.byteLength,
  externalBytes: dataPath ? readFileSync(dataPath).byteLength : 0,
  wasmBytes: after.wasm,
  wasmGrowth: after.wasm - before.wasm,
  jsHeapUsed: after.heapUsed,
  jsHeapGrowth: after.heapUsed - before.heapUsed,
  arrayBuffers: after.arrayBuffers,
  rss: after.rss,
  maxRss: peakRss(),
})}\n`);
await session.release();
