#!/usr/bin/env node
// Builds every generated WebAssembly file the worker imports (build/, not committed):
//   build/engine/  the edge-vit engine, from src/engine/assembly (scripts/build-engine.mjs)
//   build/codecs/  the JPEG decoder with a small initial memory (scripts/build-codecs.mjs)
// Run by `npm start`, `npm test`, `npm run bench` and wrangler's [build]; each step rebuilds only
// what is stale. `--force` rebuilds anyway.
import { buildCodecs } from './build-codecs.mjs';
import { buildEngine } from './build-engine.mjs';

const force = process.argv.includes('--force');
try {
  await buildEngine({ force });
  buildCodecs({ force });
} catch (e) {
  process.stderr.write(`build-wasm: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
