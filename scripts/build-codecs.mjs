#!/usr/bin/env node
// Writes build/codecs/mozjpeg_dec.wasm: @jsquash/jpeg's MozJPEG decoder with its WebAssembly memory
// starting at 2 pages (128 KiB) instead of the 16 MiB Emscripten reserved when it was built.
// Why: a Worker isolate has 128 MB, and with a ViT-B/32 engine (87 MiB of WASM memory) the decoder's
// idle 16 MiB was the difference between fitting under 110 MiB and not. The module was built with
// ALLOW_MEMORY_GROWTH, so its malloc grows the memory when an image needs it (a 640x480 JPEG: 2.6 MB);
// code and data are untouched, and so is every decoded byte. The patch rewrites only the memory
// section's minimum, in place, after checking that the module's static data and stack fit below it.
// Run by scripts/build-wasm.mjs; rebuilds when the package's file or this script is newer.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build/codecs');
export const MOZJPEG_BUILD = join(outDir, 'mozjpeg_dec.wasm');
/** Initial pages of the rebuilt decoder's memory. */
export const MOZJPEG_INITIAL_PAGES = 2;
const PAGE = 65536;

/** Unsigned LEB128 at `p`: [value, bytes]. */
function readLeb(b, p) {
  let value = 0;
  let shift = 0;
  let n = 0;
  for (;;) {
    const byte = b[p + n++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, n];
    shift += 7;
  }
}

/** Signed LEB128 (i32.const immediates). */
function readSleb(b, p) {
  let value = 0;
  let shift = 0;
  let n = 0;
  let byte;
  do {
    byte = b[p + n++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  if (shift < 32 && byte & 0x40) value |= -1 << shift;
  return [value, n];
}

/**
 * A copy of `wasm` whose (single, defined) memory starts at `pages` pages. Throws if the module has
 * no such memory, if the minimum cannot be rewritten in the same number of bytes, or if its data
 * segments or initial stack pointer lie above the new minimum (it would not instantiate or would
 * overwrite its stack).
 */
export function lowerInitialMemory(wasm, pages) {
  const b = Uint8Array.from(wasm);
  let p = 8;
  let memory = null;
  let highest = 0; // highest byte the module's data or initial stack pointer reaches
  while (p < b.length) {
    const id = b[p++];
    const [size, n] = readLeb(b, p);
    p += n;
    const start = p;
    if (id === 5) {
      let q = p;
      const [count, c] = readLeb(b, q);
      q += c;
      if (count !== 1) throw new Error(`expected one memory, found ${count}`);
      const flags = b[q++];
      const [min, m] = readLeb(b, q);
      memory = { at: q, bytes: m, min, flags };
    } else if (id === 6) {
      // Globals initialised by i32.const: the largest is Emscripten's stack pointer (the stack's top).
      let q = p;
      const [count, c] = readLeb(b, q);
      q += c;
      for (let i = 0; i < count; i++) {
        q += 2; // value type, mutability
        const op = b[q++];
        if (op === 0x41) {
          const [v, k] = readSleb(b, q);
          q += k;
          highest = Math.max(highest, v);
        } else if (op === 0x42) {
          q += readLeb(b, q)[1];
        } else if (op === 0x23) {
          q += readLeb(b, q)[1];
        } else throw new Error(`unexpected global initialiser 0x${op.toString(16)}`);
        if (b[q++] !== 0x0b) throw new Error('unexpected global initialiser');
      }
    } else if (id === 11) {
      let q = p;
      const [count, c] = readLeb(b, q);
      q += c;
      for (let i = 0; i < count; i++) {
        const [flags, f] = readLeb(b, q);
        q += f;
        if (flags !== 0) throw new Error(`unsupported data segment kind ${flags}`);
        if (b[q++] !== 0x41) throw new Error('unsupported data segment offset');
        const [offset, o] = readSleb(b, q);
        q += o + 1; // end
        const [len, l] = readLeb(b, q);
        q += l + len;
        highest = Math.max(highest, offset + len);
      }
    }
    p = start + size;
  }
  if (memory === null) throw new Error('the module defines no memory (an imported memory cannot be patched here)');
  if (pages * PAGE < highest) throw new Error(`the module's data and stack reach byte ${highest}, above ${pages} pages`);
  if (pages > memory.min) throw new Error(`the module already starts at ${memory.min} pages`);
  // Same number of bytes: LEB128 may be padded with continuation bytes.
  for (let i = 0; i < memory.bytes; i++) {
    const last = i === memory.bytes - 1;
    b[memory.at + i] = ((pages >> (7 * i)) & 0x7f) | (last ? 0 : 0x80);
  }
  if (pages >> (7 * memory.bytes) !== 0) throw new Error(`${pages} pages do not fit in ${memory.bytes} LEB128 bytes`);
  return b;
}

export function buildCodecs({ force = false, quiet = false } = {}) {
  const source = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
  const newest = Math.max(statSync(source).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
  let built = -Infinity;
  try {
    built = statSync(MOZJPEG_BUILD).mtimeMs;
  } catch {}
  if (!force && built >= newest) return false;
  mkdirSync(outDir, { recursive: true });
  const patched = lowerInitialMemory(readFileSync(source), MOZJPEG_INITIAL_PAGES);
  // Written under a temporary name, then renamed: concurrent test workers never read half a file.
  const tmp = `${MOZJPEG_BUILD}.tmp-${process.pid}`;
  writeFileSync(tmp, patched);
  renameSync(tmp, MOZJPEG_BUILD);
  if (!quiet) process.stderr.write(`build-codecs: built build/codecs/mozjpeg_dec.wasm (initial memory ${MOZJPEG_INITIAL_PAGES} pages)\n`);
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildCodecs({ force: process.argv.includes('--force') });
  } catch (e) {
    process.stderr.write(`build-codecs: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
