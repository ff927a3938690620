/**
 * The edge-vit engine in Node: compiles build/engine's two modules (built by
 * scripts/build-engine.mjs) and streams a weight file into the loader from disk in chunks.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PromptEdgeError } from '../../core/errors.ts';
import { createEdgeVitLoader, type EdgeVitEngine, type EdgeVitLoaderOptions, type EdgeVitModules } from '../../core/engine/index.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ENGINE_BUILD_DIR = join(root, 'build/engine');
export const RELAXED_WASM = 'edge-vit.relaxed.wasm';
export const SIMD_WASM = 'edge-vit.simd.wasm';

let cached: EdgeVitModules | undefined;

/** The two compiled modules; `relaxed` is left out when this runtime does not validate it. */
export function loadEdgeVitModules(dir = ENGINE_BUILD_DIR): EdgeVitModules {
  if (dir === ENGINE_BUILD_DIR && cached) return cached;
  const read = (file: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new PromptEdgeError('unavailable', `${path} is missing: build the engine with \`node scripts/build-engine.mjs\` (npm test, npm start and npm run bench do it).`);
    return readFileSync(path);
  };
  const relaxedBytes = read(RELAXED_WASM);
  const modules: EdgeVitModules = {
    relaxed: WebAssembly.validate(relaxedBytes) ? new WebAssembly.Module(relaxedBytes) : undefined,
    simd: new WebAssembly.Module(read(SIMD_WASM)),
  };
  if (dir === ENGINE_BUILD_DIR) cached = modules;
  return modules;
}

/** Loads a weight file from disk, `chunkBytes` at a time (never the whole file in JS). */
export function loadEdgeVitFile(path: string, options: EdgeVitLoaderOptions & { modules?: EdgeVitModules; chunkBytes?: number } = {}): EdgeVitEngine {
  const loader = createEdgeVitLoader(options.modules ?? loadEdgeVitModules(), options);
  const buf = new Uint8Array(options.chunkBytes ?? 1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.byteLength, null);
      if (n === 0) break;
      loader.write(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return loader.finish();
}
