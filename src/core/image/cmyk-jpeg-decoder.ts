/**
 * CMYK and YCCK JPEGs (print and stock photography). MozJPEG's WASM build only outputs RGB and
 * libjpeg cannot convert CMYK to RGB, so these few files go through jpeg-js (pure JS, loaded on first
 * use), which reads baseline and progressive CMYK/YCCK and converts to RGB with the same formula as
 * Pillow: Adobe's inverted CMYK convention (Pillow's "CMYK;I", assumed for every CMYK JPEG), then
 * R = (255 - K) - C * (255 - K) / 255. jpeg-js's IDCT, its nearest-neighbour chroma upsampling and its
 * float rounding differ from libjpeg-turbo's, so the output is within a small tolerance of Pillow's,
 * not identical (measured by test/core/image-formats.test.ts).
 */
import { InvalidImageError } from '../errors.ts';
import { readJpegFrameInfo, type JpegFrameInfo } from './image-header.ts';
import type { RgbImage } from './rgb-image.ts';

type JpegJsDecode = typeof import('jpeg-js')['decode'];

let jpegJs: Promise<JpegJsDecode> | undefined;

function loadJpegJs(): Promise<JpegJsDecode> {
  jpegJs ??= import('jpeg-js').then((m) => (m.decode ?? (m as unknown as { default: { decode: JpegJsDecode } }).default.decode));
  return jpegJs;
}

/** An Adobe APP14 segment with transform 0 (plain CMYK): jpeg-js refuses 4 components without one, Pillow does not need it. */
const ADOBE_APP14 = new Uint8Array([0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00]);

function hasAdobeMarker(b: Uint8Array): boolean {
  let pos = 2;
  while (pos + 4 <= b.length && b[pos] === 0xff) {
    const marker = b[pos + 1] as number;
    if (marker === 0xda || marker === 0xd9) return false;
    const len = ((b[pos + 2] as number) << 8) | (b[pos + 3] as number);
    if (marker === 0xee && len >= 7 && b[pos + 4] === 0x41 && b[pos + 5] === 0x64 && b[pos + 6] === 0x6f && b[pos + 7] === 0x62 && b[pos + 8] === 0x65) return true;
    pos += 2 + len;
  }
  return false;
}

export async function decodeCmykJpeg(bytes: Uint8Array, maxPixels: number, frame: JpegFrameInfo = readJpegFrameInfo(bytes)): Promise<RgbImage> {
  const decode = await loadJpegJs();
  let input = bytes;
  if (!hasAdobeMarker(bytes)) {
    input = new Uint8Array(bytes.length + ADOBE_APP14.length);
    input.set(bytes.subarray(0, 2));
    input.set(ADOBE_APP14, 2);
    input.set(bytes.subarray(2), 2 + ADOBE_APP14.length);
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = decode(input, {
      useTArray: true,
      formatAsRGBA: false,
      // Pillow refuses truncated JPEGs; jpeg-js would fill the missing blocks.
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      // Component planes (4 bytes a pixel, rounded up to whole blocks), the output, and slack for tables.
      maxMemoryUsageInMB: Math.ceil((frame.width + 16) * (frame.height + 16) * 12 / 2 ** 20) + 16,
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InvalidImageError(`Cannot decode CMYK JPEG: ${reason}.`, { cause });
  }
  if (decoded.width !== frame.width || decoded.height !== frame.height || decoded.data.length !== frame.width * frame.height * 3) {
    throw new InvalidImageError(`Cannot decode CMYK JPEG: decoded ${decoded.width}x${decoded.height}, header says ${frame.width}x${frame.height}.`);
  }
  return { width: decoded.width, height: decoded.height, data: decoded.data };
}
