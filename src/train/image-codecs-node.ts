/**
 * Node-side setup of the image decoders: compiles @jsquash/jpeg's MozJPEG WASM from node_modules and
 * hands it to core, and points core at the WebP and AVIF WASM files, compiled only when the first
 * image of their format arrives (workerd instead imports the same .wasm files as modules; see src/worker).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { provideImageCodecs } from '../core/image/decode.ts';
import { initJpegDecoder } from '../core/image/jpeg-decoder.ts';
import { AVIF_DEC_WASM } from '../core/image/avif-decoder.ts';
import { WEBP_DEC_WASM } from '../core/image/webp-decoder.ts';

/** Path of the decoder WASM inside the package; the worker bundles the same file. */
export const MOZJPEG_DEC_WASM = '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';

let ready: Promise<void> | undefined;

async function compile(specifier: string): Promise<WebAssembly.Module> {
  const path = createRequire(import.meta.url).resolve(specifier);
  return WebAssembly.compile(await readFile(path));
}

/** Initialises decoding for decodeImage(); safe to call any number of times. */
export function initNodeImageCodecs(): Promise<void> {
  ready ??= (async () => {
    provideImageCodecs({ webp: () => compile(WEBP_DEC_WASM), avif: () => compile(AVIF_DEC_WASM) });
    await initJpegDecoder(await compile(MOZJPEG_DEC_WASM));
  })().catch((err: unknown) => {
    // Let a later call try again rather than caching the failure.
    ready = undefined;
    throw err;
  });
  return ready;
}
