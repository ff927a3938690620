/**
 * WebP decoding with libwebp compiled to WASM (@jsquash/webp), the library Pillow links too: lossy
 * (VP8, with libwebp's default "fancy" chroma upsampling), lossless (VP8L) and either with an alpha
 * channel. Alpha is dropped without compositing, as Pillow's convert('RGB') does; colour under fully
 * transparent pixels is what the file stores.
 */
import { UnsupportedMediaTypeError } from '../errors.ts';
import { readWebpInfo } from './image-header.ts';
import type { RgbImage } from './rgb-image.ts';
import { LazyWasmCodec, type EmscriptenFactory } from './wasm-codec.ts';
import { rgbaToRgb, checkDecodedSize } from './pixels.ts';

interface WebpModule {
  decode(data: Uint8Array): { width: number; height: number; data: Uint8ClampedArray } | null;
  HEAP8?: Int8Array;
}

export const WEBP_DEC_WASM = '@jsquash/webp/codec/dec/webp_dec.wasm';

export const webpCodec = new LazyWasmCodec<WebpModule>('WebP', WEBP_DEC_WASM, async () => {
  const glue = await import('@jsquash/webp/codec/dec/webp_dec.js');
  return glue.default as unknown as EmscriptenFactory<WebpModule>;
});

export async function decodeWebp(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  const info = readWebpInfo(bytes);
  if (info.animated) {
    throw new UnsupportedMediaTypeError('Animated WebP images are not supported. Send one frame as a still WebP, PNG or JPEG (animated GIFs are accepted: their first frame is used).');
  }
  const decoded = await webpCodec.run((m) => {
    const out = m.decode(bytes);
    if (out === null) throw new Error('libwebp could not decode the bitstream (corrupt or truncated file)');
    return out;
  }, { maxPixels });
  checkDecodedSize('WebP', decoded, info);
  return { width: decoded.width, height: decoded.height, data: rgbaToRgb(decoded.data) };
}
