/**
 * JPEG decoding with MozJPEG compiled to WASM (@jsquash/jpeg). MozJPEG's decoder is libjpeg-turbo's
 * (islow IDCT, "fancy" triangular chroma upsampling), so its RGB output is byte-identical to Pillow's
 * `Image.open(f).convert('RGB')` on the libjpeg-turbo builds Pillow ships with.
 *
 * The WASM module is passed in rather than fetched: workerd forbids compiling WASM bytes at run time and
 * only accepts a `WebAssembly.Module` imported from a bundled .wasm file, while Node compiles the file
 * from node_modules (see src/train/image-codecs-node.ts).
 */
import mozjpegFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import { InvalidImageError, UnsupportedMediaTypeError } from '../errors.ts';
import { readJpegFrameInfo, type JpegFrameInfo } from './image-header.ts';
import { rgbaToRgb } from './pixels.ts';
import type { RgbImage } from './rgb-image.ts';

/** The part of the Emscripten module built from squoosh's mozjpeg_dec.cpp that we use. */
interface MozJpegModule {
  decode(data: Uint8Array, preserveOrientation: boolean): { width: number; height: number; data: Uint8ClampedArray } | null;
  HEAP8?: Int8Array;
}

interface MozJpegModuleOptions {
  noInitialRun: boolean;
  instantiateWasm: (imports: WebAssembly.Imports, receiveInstance: (instance: WebAssembly.Instance) => void) => object;
  print: (text: string) => void;
  printErr: (text: string) => void;
}

const createMozJpegModule = mozjpegFactory as unknown as (options: MozJpegModuleOptions) => Promise<MozJpegModule>;

interface DecoderInstance {
  module: MozJpegModule;
  /** libjpeg's warnings and errors, which it writes to stderr: cleared before, read after each (synchronous) decode. */
  messages: string[];
}

let wasmModule: WebAssembly.Module | undefined;
let instance: Promise<DecoderInstance> | undefined;
/** The instance `instance` resolved to, for jpegDecoderMemoryBytes(). */
let live: MozJpegModule | undefined;

// A decoder instance's linear memory only grows; after a big image, start a fresh instance so a long-lived
// worker does not keep that memory for good.
const MAX_RETAINED_HEAP_BYTES = 64 * 1024 * 1024;

function instantiate(module: WebAssembly.Module): Promise<DecoderInstance> {
  const messages: string[] = [];
  return createMozJpegModule({
    noInitialRun: true,
    instantiateWasm: (imports, receiveInstance) => {
      void WebAssembly.instantiate(module, imports).then(receiveInstance);
      // Emscripten's contract for asynchronous instantiation: return an empty exports object now.
      return {};
    },
    print: (text) => messages.push(text),
    printErr: (text) => messages.push(text),
  }).then((m) => {
    live = m;
    return { module: m, messages };
  });
}

/**
 * Makes JPEG decoding available. `module` is the compiled `mozjpeg_dec.wasm` of @jsquash/jpeg
 * (`node_modules/@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm`). Calling it again with the same module is a no-op.
 */
export async function initJpegDecoder(module: WebAssembly.Module): Promise<void> {
  if (!(module instanceof WebAssembly.Module)) {
    throw new TypeError('initJpegDecoder expects a WebAssembly.Module compiled from @jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
  }
  if (wasmModule === module && instance !== undefined) {
    await instance;
    return;
  }
  wasmModule = module;
  instance = instantiate(module);
  try {
    await instance;
  } catch (err) {
    wasmModule = undefined;
    instance = undefined;
    throw err;
  }
}

/** The JPEG decoder's WebAssembly memory in this isolate, bytes (it grows with the largest image decoded, up to a reset). */
export function jpegDecoderMemoryBytes(): number {
  return live?.HEAP8?.buffer.byteLength ?? 0;
}

export function isJpegDecoderReady(): boolean {
  return wasmModule !== undefined;
}

/** Decodes a baseline/progressive greyscale or YCbCr JPEG to RGB, ignoring EXIF orientation as Pillow's `Image.open` does. */
export async function decodeJpeg(bytes: Uint8Array, frame: JpegFrameInfo = readJpegFrameInfo(bytes)): Promise<RgbImage> {
  if (frame.components === 4) {
    // decode.ts sends these to cmyk-jpeg-decoder.ts: libjpeg cannot convert CMYK to RGB.
    throw new UnsupportedMediaTypeError('CMYK/YCCK JPEGs are decoded by decodeImage(), not decodeJpeg().');
  }
  if (frame.components !== 1 && frame.components !== 3) {
    throw new InvalidImageError(`Invalid JPEG: ${frame.components} colour components (expected 1 or 3).`);
  }
  if (wasmModule === undefined || instance === undefined) {
    throw new Error(
      'The JPEG decoder is not initialised: call initJpegDecoder(module) first (in Node: initNodeImageCodecs() from src/train/image-codecs-node.ts).',
    );
  }
  const current = await instance;
  current.messages.length = 0;
  let decoded: ReturnType<MozJpegModule['decode']>;
  try {
    // The codec copies the input into its own heap, so a view (not the whole backing buffer) is enough.
    decoded = current.module.decode(bytes, false);
  } catch (err) {
    // libjpeg's fatal errors exit() the WASM program; a fresh instance avoids the leaked decoder state.
    resetInstance();
    throw decodeError(current.messages, err);
  }
  const heapBytes = current.module.HEAP8?.buffer.byteLength ?? 0;
  if (heapBytes > MAX_RETAINED_HEAP_BYTES) resetInstance();
  // Pillow refuses a JPEG whose data ends early ("image file is truncated"); libjpeg only warns and pads with grey.
  if (decoded === null || current.messages.some(isTruncationWarning)) throw decodeError(current.messages, undefined);
  if (decoded.width !== frame.width || decoded.height !== frame.height) {
    throw new InvalidImageError(`Cannot decode JPEG: decoded ${decoded.width}x${decoded.height}, header says ${frame.width}x${frame.height}.`);
  }
  return { width: decoded.width, height: decoded.height, data: rgbaToRgb(decoded.data) };
}

function isTruncationWarning(message: string): boolean {
  return message.includes('Premature end of JPEG file');
}

function decodeError(messages: readonly string[], cause: unknown): InvalidImageError {
  if (messages.some(isTruncationWarning)) {
    return new InvalidImageError('Truncated JPEG: the file ends before the image data is complete.', { cause });
  }
  const libjpeg = messages.filter((m) => m.trim() !== '').join('; ');
  const reason = libjpeg !== '' ? libjpeg : cause instanceof Error ? cause.message : 'unknown decoder error';
  return new InvalidImageError(`Cannot decode JPEG: ${reason}.`, { cause });
}

function resetInstance(): void {
  if (wasmModule === undefined) return;
  instance = instantiate(wasmModule);
  // A failed instantiation is reported by the next decode that awaits it, not as an unhandled rejection.
  instance.catch(() => undefined);
}
