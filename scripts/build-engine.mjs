#!/usr/bin/env node
// Builds the edge-vit WebAssembly engine (src/engine/assembly, AssemblyScript) into build/engine/:
//   edge-vit.relaxed.wasm  SIMD + relaxed SIMD (i32x4.relaxed_dot_i8x16_i7x16_add_s)
//   edge-vit.simd.wasm     plain SIMD fallback, for runtimes where the relaxed module does not validate
// Run by `npm start`, `npm test` and `npm run bench`; rebuilds only when a source (or this script,
// or the compiler) is newer than the outputs. `--force` rebuilds anyway.
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src/engine/assembly');
const outDir = join(root, 'build/engine');
const entry = join(srcDir, 'index.ts');

export const ENGINE_BUILDS = [
  { file: 'edge-vit.relaxed.wasm', features: 'simd,relaxed-simd' },
  { file: 'edge-vit.simd.wasm', features: 'simd' },
];

function newestInput() {
  const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => join(srcDir, f));
  files.push(fileURLToPath(import.meta.url), join(root, 'node_modules/assemblyscript/package.json'));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function outputTime(file) {
  try {
    return statSync(join(outDir, file)).mtimeMs;
  } catch {
    return -Infinity;
  }
}

export async function buildEngine({ force = false, quiet = false } = {}) {
  const newest = newestInput();
  const stale = ENGINE_BUILDS.filter((b) => force || outputTime(b.file) < newest);
  if (stale.length === 0) return false;
  mkdirSync(outDir, { recursive: true });
  const { default: asc } = await import('assemblyscript/asc');
  for (const b of stale) {
    // --runtime stub, no abort import: the module allocates nothing; the host lays out memory
    // (weights + scratch) itself and grows it once.
    // Written under a temporary name, then renamed: test workers that build concurrently never
    // read a half-written module.
    const tmp = join(outDir, `${b.file}.tmp-${process.pid}`);
    const args = [entry, '--enable', b.features, '-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--initialMemory', '1', '-o', tmp];
    const { error, stderr } = await asc.main(args);
    if (error) {
      process.stderr.write(stderr.toString());
      throw new Error(`building ${b.file} failed: ${error.message}`);
    }
    renameSync(tmp, join(outDir, b.file));
    if (!quiet) process.stderr.write(`build-engine: built build/engine/${b.file}\n`);
  }
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildEngine({ force: process.argv.includes('--force') }).catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
