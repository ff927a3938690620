/**
 * PNG decoding (fast-png) followed by the conversion Pillow applies in `Image.open(f).convert('RGB')`,
 * so that every PNG flavour gives the same bytes as the Python reference. Pillow 9.4's rules, checked
 * against it by scripts/gen-image-vectors.py:
 *   - greyscale 1-bit: mode "1", 0 -> 0 and 1 -> 255; 2-bit and 4-bit: scaled by 85 and 17 ("L;2", "L;4").
 *   - greyscale 16-bit: Pillow opens it as mode "I" and I -> RGB *clips* the value to 255, so a 16-bit
 *     grey photo comes out almost white. Here it is scaled like every other 16-bit sample: v >> 8 (the
 *     one deliberate difference from Pillow; docs/api.md).
 *   - RGB, RGBA and grey+alpha 16-bit: the raw modes "RGB;16B", "RGBA;16B", "LA;16B" keep the high byte.
 *   - alpha (RGBA, LA, palette tRNS, colour-key tRNS) is dropped, never composited onto a background.
 *   - palette: indices past the end of PLTE read Pillow's default palette entry (i, i, i).
 */
import { decode as decodePngData, type DecodedPng } from 'fast-png';
import { InvalidImageError, UnsupportedMediaTypeError } from '../errors.ts';
import { readPngIhdr, type HeaderInfo } from './image-header.ts';
import type { RgbImage } from './rgb-image.ts';

const GREY = 0;
const RGB = 2;
const PALETTE = 3;
const GREY_ALPHA = 4;
const RGBA = 6;

const ALLOWED_DEPTHS: Record<number, number[]> = {
  [GREY]: [1, 2, 4, 8, 16],
  [RGB]: [8, 16],
  [PALETTE]: [1, 2, 4, 8],
  [GREY_ALPHA]: [8, 16],
  [RGBA]: [8, 16],
};

export function decodePng(bytes: Uint8Array, ihdr: HeaderInfo['png'] = readPngIhdr(bytes)): RgbImage {
  const depths = ALLOWED_DEPTHS[ihdr.colorType];
  if (depths === undefined || !depths.includes(ihdr.bitDepth)) {
    throw new InvalidImageError(`Invalid PNG: colour type ${ihdr.colorType} with bit depth ${ihdr.bitDepth}.`);
  }
  // fast-png mis-sizes Adam7 pass rows when pixels are smaller than a byte.
  if (ihdr.interlace === 1 && ihdr.bitDepth < 8) {
    throw new UnsupportedMediaTypeError(
      `Interlaced PNGs with ${ihdr.bitDepth}-bit pixels are not supported. Re-save the image without interlacing (or as an 8-bit PNG or JPEG).`,
    );
  }
  const { complete, hadIend } = withIend(bytes);
  let png: DecodedPng;
  try {
    png = decodePngData(complete);
  } catch (err) {
    if (!hadIend) throw new InvalidImageError('Truncated PNG: the file ends before the image data is complete.', { cause: err });
    const reason = err instanceof Error ? err.message : String(err);
    throw new InvalidImageError(`Cannot decode PNG: ${reason}.`, { cause: err });
  }
  const { width, height } = png;
  if (width !== ihdr.width || height !== ihdr.height) {
    throw new InvalidImageError(`Cannot decode PNG: decoded ${width}x${height}, header says ${ihdr.width}x${ihdr.height}.`);
  }

  const out = new Uint8Array(width * height * 3);
  switch (ihdr.colorType) {
    case GREY:
      greyToRgb(png, out);
      break;
    case PALETTE:
      paletteToRgb(png, out);
      break;
    default:
      colourToRgb(png, out);
  }
  return { width, height, data: out };
}

const IEND_CHUNK = new Uint8Array([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * Pillow stops reading at the end of the image data and accepts a file whose IEND (or a trailing
 * ancillary chunk) is missing; fast-png insists on IEND. So cut after the last complete chunk and add an
 * IEND. If the image data itself was cut short, inflating it still fails, as it does in Pillow.
 */
function withIend(bytes: Uint8Array): { complete: Uint8Array; hadIend: boolean } {
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const length = (((bytes[pos] as number) << 24) | ((bytes[pos + 1] as number) << 16) | ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number)) >>> 0;
    const isIend = bytes[pos + 4] === 0x49 && bytes[pos + 5] === 0x45 && bytes[pos + 6] === 0x4e && bytes[pos + 7] === 0x44;
    if (isIend) return { complete: bytes, hadIend: true };
    const next = pos + 12 + length;
    if (next > bytes.length) break;
    pos = next;
  }
  const complete = new Uint8Array(pos + IEND_CHUNK.length);
  complete.set(bytes.subarray(0, pos));
  complete.set(IEND_CHUNK, pos);
  return { complete, hadIend: false };
}

/** Unpacks 1/2/4/8-bit samples; PNG rows start on a byte boundary. */
function unpackSamples(png: DecodedPng): Uint8Array {
  const { width, height, depth } = png;
  const data = png.data as Uint8Array;
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[row + (bit >> 3)] as number;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function greyToRgb(png: DecodedPng, out: Uint8Array): void {
  const n = png.width * png.height;
  if (png.depth === 16) {
    const data = png.data as Uint16Array;
    for (let i = 0; i < n; i++) {
      const v = (data[i] as number) >> 8;
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
    }
    return;
  }
  const samples = unpackSamples(png);
  const scale = png.depth === 1 ? 255 : png.depth === 2 ? 85 : png.depth === 4 ? 17 : 1;
  for (let i = 0; i < n; i++) {
    const v = (samples[i] as number) * scale;
    out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
  }
}

function paletteToRgb(png: DecodedPng, out: Uint8Array): void {
  const palette = png.palette;
  if (palette === undefined || palette.length === 0) throw new InvalidImageError('Invalid PNG: indexed-colour image without a PLTE palette.');
  // Pillow's palette starts as a grey ramp and PLTE overwrites its first entries.
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const entry = palette[i];
    lut[i * 3] = entry?.[0] ?? i;
    lut[i * 3 + 1] = entry?.[1] ?? i;
    lut[i * 3 + 2] = entry?.[2] ?? i;
  }
  const indices = unpackSamples(png);
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const p = (indices[i] as number) * 3;
    out[i * 3] = lut[p] as number;
    out[i * 3 + 1] = lut[p + 1] as number;
    out[i * 3 + 2] = lut[p + 2] as number;
  }
}

/** RGB, RGBA, grey+alpha at 8 or 16 bits: keep colour, drop alpha, 16-bit keeps the high byte. */
function colourToRgb(png: DecodedPng, out: Uint8Array): void {
  const n = png.width * png.height;
  const ch = png.channels;
  const data = png.data;
  const shift = png.depth === 16 ? 8 : 0;
  const grey = ch === 2;
  for (let i = 0, s = 0; i < n; i++, s += ch) {
    if (grey) {
      const v = (data[s] as number) >> shift;
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = v;
    } else {
      out[i * 3] = (data[s] as number) >> shift;
      out[i * 3 + 1] = (data[s + 1] as number) >> shift;
      out[i * 3 + 2] = (data[s + 2] as number) >> shift;
    }
  }
}
