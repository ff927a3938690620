/**
 * onnxruntime-web (the worker's runtime: WASM, SIMD, one thread) loaded in Node, with a handle on
 * its WASM linear memory so that the bench can report how much memory the runtime really holds.
 * WASM memory only grows, so its size after a run is the peak of the ORT heap.
 */
import type * as OrtWeb from 'onnxruntime-web';

const memories: WebAssembly.Memory[] = [];
let loaded: Promise<typeof OrtWeb> | undefined;

function findMemories(value: unknown, depth = 0): void {
  if (value instanceof WebAssembly.Memory) {
    if (!memories.includes(value)) memories.push(value);
    return;
  }
  if (depth > 1 || value === null || typeof value !== 'object') return;
  for (const v of Object.values(value as Record<string, unknown>)) findMemories(v, depth + 1);
}

/** Loads onnxruntime-web once, single-threaded, recording every WASM memory it creates or imports. */
export function loadOrtWeb(): Promise<typeof OrtWeb> {
  loaded ??= (async () => {
    const original = WebAssembly.instantiate;
    const patched = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
      findMemories(imports);
      const result = await (original as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>)(source, imports);
      const instance = result instanceof WebAssembly.Instance ? result : (result as WebAssembly.WebAssemblyInstantiatedSource).instance;
      findMemories(instance.exports);
      return result;
    };
    WebAssembly.instantiate = patched as typeof WebAssembly.instantiate;
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    return ort;
  })();
  return loaded;
}

/** Bytes of WASM linear memory onnxruntime-web holds (all its memories). */
export function ortWasmMemoryBytes(): number {
  return memories.reduce((n, m) => n + m.buffer.byteLength, 0);
}
