/**
 * build/codecs/mozjpeg_dec.wasm, the JPEG decoder the worker bundles: @jsquash/jpeg's module with its
 * memory starting at 128 KiB instead of 16 MiB (scripts/build-codecs.mjs). It must decode every
 * byte as the package's module does, grow when an image needs it, and the patcher must refuse a
 * minimum that would cut into the module's data or stack.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jpegJs from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeJpeg, initJpegDecoder } from '../../src/core/image/jpeg-decoder.ts';
import { buildCodecs, lowerInitialMemory, MOZJPEG_BUILD, MOZJPEG_INITIAL_PAGES } from '../../scripts/build-codecs.mjs';
import { makeSource } from './image-test-utils.ts';

const original = new Uint8Array(readFileSync(createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm')));

/** The decoder's memory, seen through the instance it creates. */
async function decodeWith(wasm: Uint8Array<ArrayBuffer>, jpegs: Uint8Array[]): Promise<{ pixels: Uint8Array[]; memory: number[] }> {
  const memories: WebAssembly.Memory[] = [];
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (async (source: WebAssembly.Module, imports?: WebAssembly.Imports) => {
    const instance = await instantiate(source, imports);
    for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
    return instance;
  }) as typeof WebAssembly.instantiate;
  try {
    await initJpegDecoder(await WebAssembly.compile(wasm));
  } finally {
    WebAssembly.instantiate = instantiate;
  }
  const memory = [memories[0]!.buffer.byteLength];
  const pixels: Uint8Array[] = [];
  for (const jpeg of jpegs) {
    pixels.push((await decodeJpeg(jpeg)).data);
    memory.push(memories[0]!.buffer.byteLength);
  }
  return { pixels, memory };
}

const encodeJpeg = (width: number, height: number, seed: number, quality: number) => {
  const rgb = makeSource({ kind: 'smooth', width, height, seed }).data;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
  return new Uint8Array(jpegJs.encode({ data: rgba, width, height }, quality).data);
};

beforeAll(() => {
  buildCodecs({ quiet: true });
});

describe('the JPEG decoder with a small initial memory', () => {
  it('is the built file: the package module with only the memory minimum changed', () => {
    const built = new Uint8Array(readFileSync(MOZJPEG_BUILD));
    expect(built).toEqual(lowerInitialMemory(original, MOZJPEG_INITIAL_PAGES));
    expect(built.length).toBe(original.length);
    const differing = built.reduce((n, b, i) => n + (b !== original[i] ? 1 : 0), 0);
    expect(differing).toBeGreaterThan(0);
    expect(differing).toBeLessThanOrEqual(2); // the LEB128 of the minimum
  });

  it('decodes the same bytes as the package module, starting at 128 KiB and growing as images need', async () => {
    const jpegs = [encodeJpeg(640, 480, 1, 90), encodeJpeg(31, 17, 2, 50), encodeJpeg(1600, 1200, 3, 95)];
    const small = await decodeWith(new Uint8Array(readFileSync(MOZJPEG_BUILD)), jpegs);
    const big = await decodeWith(original, jpegs);
    expect(small.memory[0]).toBe(MOZJPEG_INITIAL_PAGES * 65536);
    expect(big.memory[0]).toBe(16908288);
    expect(small.memory[1]).toBeLessThan(4 << 20); // a 640x480 photo needs a few MB, not 16
    expect(small.memory[3]).toBeGreaterThan(1600 * 1200 * 4); // grown for the 1600x1200 output
    // ...and by at most 8 bytes per pixel: the worker's pixel budget counts 7 (src/worker/vision/memory-budget.ts).
    expect(small.memory[3]).toBeLessThanOrEqual(1600 * 1200 * 8);
    small.pixels.forEach((p, i) => expect(p).toEqual(big.pixels[i]));
  });

  it('refuses a minimum below the module data and stack, or above its own', () => {
    expect(() => lowerInitialMemory(original, 1)).toThrow(/data and stack reach byte/);
    expect(() => lowerInitialMemory(original, 1000)).toThrow(/already starts at 258 pages/);
    expect(() => lowerInitialMemory(original.slice(0, 8), 2)).toThrow(/defines no memory/);
  });
});
