/**
 * The edge-vit worker path's memory in a fresh process (spawned by rows/engine.ts): the steps the
 * worker runs for an edge-vit model from R2, with the same WASM binaries. The weight file is fed to
 * the engine's loader in 64 KiB chunks (what an R2 body stream delivers, never the whole file in
 * JS), then the 640x480 JPEG is decoded (the worker's MozJPEG build, build/codecs: 128 KiB initial
 * memory), preprocessed by the engine's kernels (as the worker does), encoded and scored 3 times.
 * After every chunk and every request it samples WASM memory (the engine's and MozJPEG's) + V8's
 * heapUsed + ArrayBuffers (the chunk in flight, decoded images not yet collected), and prints one
 * JSON line: the peak of that sum over the load and over steady state, and its value after a GC.
 * Node's own heap (tsx, Node internals) is in it too, so it overstates a worker's JS heap.
 *
 *   args: <vision_model.edge-vit> <preprocessor_config.json> <label-set file> <jpeg file>
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createEdgeVitLoader } from '../../src/core/engine/index.ts';
import { ClipImageProcessor } from '../../src/core/image/clip-image-processor.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import { initJpegDecoder } from '../../src/core/image/jpeg-decoder.ts';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { classifyEmbedding } from '../../src/core/scoring.ts';
import { loadEdgeVitModules } from '../../src/train/engine/edge-vit-node.ts';
import { MOZJPEG_BUILD } from '../../scripts/build-codecs.mjs';

const [weightsPath, preprocessorPath, labelSetPath, jpegPath] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;

// Every WASM memory other than the engine's (MozJPEG's), found as instances are created.
const others: WebAssembly.Memory[] = [];
const original = WebAssembly.instantiate;
WebAssembly.instantiate = (async (source: unknown, imports?: WebAssembly.Imports) => {
  const result = await (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
  const instance = result instanceof WebAssembly.Instance ? result : (result as WebAssembly.WebAssemblyInstantiatedSource).instance;
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) others.push(v);
  return result;
}) as typeof WebAssembly.instantiate;

// The worker's JPEG decoder (the only codec this image needs), not node_modules' 16 MiB one.
await initJpegDecoder(await WebAssembly.compile(readFileSync(MOZJPEG_BUILD)));
const modules = loadEdgeVitModules();
const processor = ClipImageProcessor.fromConfig(JSON.parse(readFileSync(preprocessorPath!, 'utf8')));
const labelSet = decodeLabelSet(new Uint8Array(readFileSync(labelSetPath!)));
const jpeg = new Uint8Array(readFileSync(jpegPath!));
gc?.();

const otherWasm = () => others.reduce((n, m) => n + m.buffer.byteLength, 0);
let engineMemory = (): number => 0;
// V8's heap plus ArrayBuffer backing stores (decoded images, chunks): what an isolate's limit counts beside WASM.
const jsBytes = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
const sample = (held: number) => engineMemory() + otherWasm() + jsBytes() + held;

const CHUNK = 64 * 1024;
const loader = createEdgeVitLoader(modules);
// The loader's memory is private; its size is what the engine reports once finished, and while
// loading at most the size it grows to once the header is read (weights + scratch).
let loadPeak = 0;
const buf = new Uint8Array(CHUNK);
const fd = openSync(weightsPath!, 'r');
let fileBytes = 0;
try {
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null);
    if (n === 0) break;
    fileBytes += n;
    loader.write(buf.subarray(0, n));
    // Before finish() the engine's memory is already grown to its final size (the loader grows it
    // once, when the header arrives): count it from the first chunk on, as the worst case.
    loadPeak = Math.max(loadPeak, jsBytes() + otherWasm());
  }
} finally {
  closeSync(fd);
}
const engine = loader.finish();
engineMemory = () => engine.memoryBytes;
loadPeak += engine.memoryBytes;

const preprocessor = engine.preprocessor(processor);
let steadyPeak = 0;
let top = '';
for (let i = 0; i < 3; i++) {
  const pixels = preprocessor.preprocess(await decodeImage(jpeg));
  const embedding = engine.encode(pixels);
  top = classifyEmbedding(embedding, labelSet.classEmbeddings, labelSet.labels, labelSet.logitScale, 1).top[0]!.label;
  steadyPeak = Math.max(steadyPeak, sample(0));
}
gc?.();
const after = sample(0);
process.stdout.write(`${JSON.stringify({ top, fileBytes, relaxed: engine.relaxed, engineWasmBytes: engine.memoryBytes, otherWasmBytes: otherWasm(), jsHeapUsed: process.memoryUsage().heapUsed, arrayBuffers: process.memoryUsage().arrayBuffers, loadPeak, steadyPeak: Math.max(steadyPeak, after), after })}\n`);
