import { ImageTooLargeError } from '../errors.ts';
import { readImageHeader } from './image-header.ts';
import { decodeJpeg } from './jpeg-decoder.ts';
import { decodePng } from './png-decoder.ts';
import type { RgbImage } from './rgb-image.ts';

export interface DecodeLimits {
  /** Largest width*height accepted, checked on the header before any pixel is decoded. */
  maxPixels?: number;
}

/** Pillow's own decompression-bomb threshold (Image.MAX_IMAGE_PIXELS), the default when no limit is given. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

/**
 * Decodes a JPEG or PNG to 8-bit RGB, byte-identical to Pillow's `Image.open(f).convert('RGB')`.
 * JPEG needs initJpegDecoder() (Node: initNodeImageCodecs()) to have run first.
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<RgbImage> {
  const header = readImageHeader(bytes);
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new ImageTooLargeError(
      `The image is ${header.width}x${header.height} (${pixels.toLocaleString('en-US')} pixels), over the limit of ${maxPixels.toLocaleString('en-US')} pixels. Downscale it before sending.`,
    );
  }
  return header.format === 'jpeg' ? decodeJpeg(bytes) : decodePng(bytes);
}

export type { RgbImage } from './rgb-image.ts';
