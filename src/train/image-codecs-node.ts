/**
 * Node-side setup of the image decoders: compiles @jsquash/jpeg's MozJPEG WASM from node_modules and
 * hands it to core (workerd instead imports the same .wasm file as a module; see src/worker).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initJpegDecoder } from '../core/image/jpeg-decoder.ts';

/** Path of the decoder WASM inside the package; the worker bundles the same file. */
export const MOZJPEG_DEC_WASM = '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';

let ready: Promise<void> | undefined;

/** Initialises JPEG decoding for decodeImage(); safe to call any number of times. */
export function initNodeImageCodecs(): Promise<void> {
  ready ??= (async () => {
    const path = createRequire(import.meta.url).resolve(MOZJPEG_DEC_WASM);
    const module = await WebAssembly.compile(await readFile(path));
    await initJpegDecoder(module);
  })().catch((err: unknown) => {
    // Let a later call try again rather than caching the failure.
    ready = undefined;
    throw err;
  });
  return ready;
}
