/**
 * One worker-path memory measurement in a fresh process (spawned by rows/memory.ts): the same steps
 * and runtimes as the worker (onnxruntime-web WASM one thread, MozJPEG WASM decoder, the project's
 * preprocessing and scoring), then a JSON line with the memory it took.
 *
 *   args: <onnx file> <label-set file> <jpeg file> [external data file]
 *         <parts.json> <label-set file> <jpeg file>
 *
 * parts.json lists an encoder split into consecutive models (export-vision --parts), as
 * [{ "onnx": path, "data"?: path }]: one session per part, created in order, each part's bytes
 * dropped before the next is read; a run feeds each part's output to the next.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeImage } from '../../src/core/image/decode.ts';
import { ClipImageProcessor } from '../../src/core/image/clip-image-processor.ts';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { classifyEmbedding } from '../../src/core/scoring.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { loadOrtWeb, ortWasmMemoryBytes } from '../lib/ort-web-node.ts';

const [modelArg, labelSetPath, jpegPath, dataPath] = process.argv.slice(2);
const parts: Array<{ onnx: string; data?: string }> = modelArg!.endsWith('.json')
  ? (JSON.parse(readFileSync(modelArg!, 'utf8')) as Array<{ onnx: string; data?: string }>)
  : [{ onnx: modelArg!, ...(dataPath ? { data: dataPath } : {}) }];
const gc = (globalThis as { gc?: () => void }).gc;
const collect = () => { gc?.(); gc?.(); };

const ort = await loadOrtWeb();
await initNodeImageCodecs();
collect();
const before = { ...process.memoryUsage(), wasm: ortWasmMemoryBytes() };

const labelSet = decodeLabelSet(new Uint8Array(readFileSync(labelSetPath!)));
const preprocessorConfig: unknown = JSON.parse(readFileSync(new URL('../../.cache/bench/preprocessor_224.json', import.meta.url), 'utf8'));
const processor = ClipImageProcessor.fromConfig(preprocessorConfig);

// As in the worker: the model bytes are held by JS (a bundled module, or read from R2) while
// onnxruntime-web copies the weights out of them into WASM memory. The isolate's first peak is at
// the end of a session's creation, with that session's bytes still in JS.
let modelBytes = 0;
let externalBytes = 0;
let atCreate = { wasm: 0, heapUsed: 0, heldBytes: 0 };
const sessions = [];
for (const part of parts) {
  let model: Uint8Array | undefined = new Uint8Array(readFileSync(part.onnx));
  let external: Uint8Array | undefined = part.data ? new Uint8Array(readFileSync(part.data)) : undefined;
  modelBytes += model.byteLength;
  externalBytes += external?.byteLength ?? 0;
  sessions.push(await ort.InferenceSession.create(model, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    ...(external ? { externalData: [{ path: basename(part.data!), data: external }] } : {}),
  }));
  collect();
  const now = { wasm: ortWasmMemoryBytes(), heapUsed: process.memoryUsage().heapUsed, heldBytes: model.byteLength + (external?.byteLength ?? 0) };
  if (now.wasm + now.heapUsed + now.heldBytes > atCreate.wasm + atCreate.heapUsed + atCreate.heldBytes) atCreate = now;
  // A loader that fetched the bytes can drop them once the session exists (a bundled model cannot:
  // rows/memory.ts counts those as held).
  model = undefined;
  external = undefined;
}

const jpeg = new Uint8Array(readFileSync(jpegPath!));
let top = '';
for (let i = 0; i < 3; i++) {
  const pixels = processor.preprocess(await decodeImage(jpeg));
  const s = processor.cropSize;
  let x = new ort.Tensor('float32', pixels, [1, 3, s.height, s.width]);
  for (const session of sessions) {
    const out = await session.run({ [session.inputNames[0]!]: x });
    x = out[session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0]!]! as typeof x;
  }
  top = classifyEmbedding(x.data as Float32Array, labelSet.classEmbeddings, labelSet.labels, labelSet.logitScale, 1).top[0]!.label;
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
  parts: parts.length,
  modelBytes,
  externalBytes,
  wasmBytes: after.wasm,
  atCreate,
  wasmGrowth: after.wasm - before.wasm,
  jsHeapUsed: after.heapUsed,
  jsHeapGrowth: after.heapUsed - before.heapUsed,
  arrayBuffers: after.arrayBuffers,
  rss: after.rss,
  maxRss: peakRss(),
})}\n`);
for (const s of sessions) await s.release();
