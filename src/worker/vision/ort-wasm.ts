/**
 * onnxruntime-web inside workerd. workerd forbids compiling WebAssembly from bytes at run time;
 * the only WASM it runs is a module compiled at deploy time (wrangler turns the `.wasm` import
 * below into a WebAssembly.Module). ORT's Emscripten glue, though, always calls
 * `WebAssembly.instantiate(bytes, imports)` with the bytes of `env.wasm.wasmBinary`.
 *
 * So ORT is given a marker instead of the real binary, and while a session is being created
 * `WebAssembly.instantiate` is wrapped: a call carrying exactly the marker bytes is answered by
 * instantiating the precompiled module; every other call passes through untouched. The wrapper is
 * removed as soon as the last pending session creation settles.
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';

const MARKER = new TextEncoder().encode('prompt-edge:precompiled-ort-wasm-module');

type Instantiate = typeof WebAssembly.instantiate;

function isMarker(source: unknown): boolean {
  let bytes: Uint8Array;
  if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (ArrayBuffer.isView(source)) bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  else return false;
  if (bytes.byteLength !== MARKER.byteLength) return false;
  for (let i = 0; i < MARKER.length; i++) if (bytes[i] !== MARKER[i]) return false;
  return true;
}

let patchDepth = 0;
/** onnxruntime-web's linear memory, found when its instance is created (one per isolate). */
let ortMemory: WebAssembly.Memory | null = null;

function findMemory(instance: WebAssembly.Instance, imports: WebAssembly.Imports | undefined): WebAssembly.Memory | null {
  for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) return v;
  for (const ns of Object.values(imports ?? {})) for (const v of Object.values(ns)) if (v instanceof WebAssembly.Memory) return v;
  return null;
}

/** onnxruntime-web's WASM memory in bytes (`memory.buffer.byteLength`), null before its first session. */
export function ortWasmMemoryBytes(): number | null {
  return ortMemory === null ? null : ortMemory.buffer.byteLength;
}
let original: Instantiate | null = null;

function installPatch(module: WebAssembly.Module): void {
  if (patchDepth++ > 0) return;
  const orig = WebAssembly.instantiate;
  original = orig;
  const patched = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (isMarker(source)) {
      const instance = await orig(module, imports);
      ortMemory = findMemory(instance, imports);
      return { instance, module } satisfies WebAssembly.WebAssemblyInstantiatedSource;
    }
    return (orig as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
  };
  WebAssembly.instantiate = patched as Instantiate;
}

function removePatch(): void {
  if (--patchDepth > 0 || original === null) return;
  WebAssembly.instantiate = original;
  original = null;
}

/** Runs `fn` with ORT's WASM instantiation redirected to `module`. */
async function withPrecompiledOrtWasm<T>(module: WebAssembly.Module, fn: () => Promise<T>): Promise<T> {
  installPatch(module);
  try {
    return await fn();
  } finally {
    removePatch();
  }
}

function configureOrt(): void {
  // One thread: workerd has no Web Workers / SharedArrayBuffer, and no proxy worker either.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = MARKER;
}

/**
 * Creates an ORT session for `model` on the WASM (SIMD, single-thread) backend inside workerd.
 * `externalData`: the weights of a graph exported with ONNX external data, copied once into their
 * tensors (a single-file model is copied whole and parsed, two copies at peak); ORT keeps no
 * reference to either buffer once the session exists.
 */
export async function createOrtSession(model: Uint8Array, externalData?: { path: string; data: Uint8Array }): Promise<ort.InferenceSession> {
  configureOrt();
  return withPrecompiledOrtWasm(ortWasmModule, () =>
    ort.InferenceSession.create(model, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      ...(externalData ? { externalData: [externalData] } : {}),
    }),
  );
}

export { ort };
