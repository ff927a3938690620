import { ImageTooLargeError } from '../errors.ts';
import { decodeAvif, avifCodec } from './avif-decoder.ts';
import { decodeBmp } from './bmp-decoder.ts';
import { decodeCmykJpeg } from './cmyk-jpeg-decoder.ts';
import { applyOrientation, readOrientation, type ExifMode } from './exif-orientation.ts';
import { decodeGif } from './gif-decoder.ts';
import { readImageHeader, type ImageHeader } from './image-header.ts';
import { decodeJpeg, jpegDecoderMemoryBytes } from './jpeg-decoder.ts';
import { decodePng } from './png-decoder.ts';
import type { RgbImage } from './rgb-image.ts';
import type { WasmModuleSource } from './wasm-codec.ts';
import { decodeWebp, webpCodec } from './webp-decoder.ts';

export interface DecodeOptions {
  /** Largest width*height accepted, checked on the header before any pixel is decoded. */
  maxPixels?: number;
  /** EXIF orientation: `apply` (default) rotates/mirrors to the displayed orientation; `ignore` keeps the stored pixels. */
  exif?: ExifMode;
  /** The header, when the caller has already read it (the worker reads it once per request). */
  header?: ImageHeader;
}

/** Pillow's own decompression-bomb threshold (Image.MAX_IMAGE_PIXELS), the default when no limit is given. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/** The WASM decoders that are loaded lazily, on the first image of their format. */
export interface ImageCodecSources {
  webp?: WasmModuleSource;
  avif?: WasmModuleSource;
}

/** Makes WebP and AVIF decoding available without loading either decoder until an image needs it. */
export function provideImageCodecs(sources: ImageCodecSources): void {
  if (sources.webp !== undefined) webpCodec.provide(sources.webp);
  if (sources.avif !== undefined) avifCodec.provide(sources.avif);
}

/** Which lazily loaded decoders have been instantiated so far (for tests and /healthz-style introspection). */
export function instantiatedImageCodecs(): { webp: boolean; avif: boolean } {
  return { webp: webpCodec.isInstantiated(), avif: avifCodec.isInstantiated() };
}

/** The WebAssembly memory of every image decoder instantiated so far (JPEG, WebP, AVIF), in bytes: part of an isolate's memory beside the encoder's. */
export function imageDecoderMemoryBytes(): number {
  return jpegDecoderMemoryBytes() + webpCodec.memoryBytes() + avifCodec.memoryBytes();
}

/** The largest WASM linear memory each lazily loaded decoder has had after a decode, in bytes. */
export function imageCodecHeapHighWater(): { webp: number; avif: number } {
  return { webp: webpCodec.heapHighWater, avif: avifCodec.heapHighWater };
}

/**
 * Decodes a JPEG, PNG, WebP, GIF (first frame), BMP or AVIF to 8-bit RGB, identical to Pillow's
 * `Image.open(f).convert('RGB')` for the lossless formats and JPEG (except 16-bit grey PNGs, scaled
 * v >> 8 where Pillow clips), then applies the EXIF orientation unless `exif: 'ignore'`.
 * JPEG needs initJpegDecoder() and WebP/AVIF provideImageCodecs() first (Node: initNodeImageCodecs()).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const header = options.header ?? readImageHeader(bytes);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new ImageTooLargeError(
      `The image is ${header.width}x${header.height} (${pixels.toLocaleString('en-US')} pixels), over the limit of ${maxPixels.toLocaleString('en-US')} pixels. Downscale it before sending.`,
    );
  }
  const stored = await decodeStored(header, bytes, maxPixels);
  if (options.exif === 'ignore') return stored;
  return applyOrientation(stored, readOrientation(bytes, header.format));
}

/** The stored pixels; each decoder takes the header fields read once by readImageHeader(). */
function decodeStored(header: ImageHeader, bytes: Uint8Array, maxPixels: number): Promise<RgbImage> | RgbImage {
  switch (header.format) {
    case 'jpeg':
      return header.info.components === 4 ? decodeCmykJpeg(bytes, maxPixels, header.info) : decodeJpeg(bytes, header.info);
    case 'png':
      return decodePng(bytes, header.info);
    case 'gif':
      return decodeGif(bytes, { maxPixels }, header.info);
    case 'bmp':
      return decodeBmp(bytes, header.info);
    case 'webp':
      return decodeWebp(bytes, maxPixels, header.info);
    case 'avif':
      return decodeAvif(bytes, maxPixels, header.info);
  }
}

export { EXIF_MODES, type ExifMode } from './exif-orientation.ts';
export type { RgbImage } from './rgb-image.ts';
