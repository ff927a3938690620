/**
 * BMP decoding, written here because it is a few dozen lines of byte shuffling (no WASM decoder is
 * worth a download for it). It follows Pillow 9.4's BmpImagePlugin, checked against it by
 * scripts/gen-image-vectors.py:
 *   - 1/4/8-bit palettes (BGRX entries, BGR for OS/2 core headers); indices past the palette read
 *     Pillow's default entry (i, i, i); RLE8 and RLE4 compression (undefined pixels are index 0).
 *   - 16-bit: X1R5G5B5 by default, or the BI_BITFIELDS layouts 5-6-5 and 5-5-5; each channel
 *     widened as Pillow's unpackers do, v * 255 / max (integer division).
 *   - 24-bit BGR; 32-bit BGRX, or the BI_BITFIELDS byte layouts BGRX, XBGR, ABGR, RGBA, BGRA. Alpha
 *     is dropped, never composited.
 *   - rows bottom-up unless the height is negative; each row padded to 4 bytes.
 * Pillow's own RLE decoder misreads delta escapes and odd-length RLE4 absolute runs; here both follow
 * the BMP specification (what browsers do).
 */
import { InvalidImageError, UnsupportedMediaTypeError } from '../errors.ts';
import { readBmpInfo, readU16LE, readU32LE, type BmpInfo } from './image-header.ts';
import { indexedToRgb, type RgbImage } from './rgb-image.ts';

const RAW = 0;
const RLE8 = 1;
const RLE4 = 2;
const BITFIELDS = 3;

/** Byte offsets of R, G, B inside a 4-byte pixel for each BI_BITFIELDS mask set Pillow accepts (key: r,g,b,a masks in hex). */
const MASKS_32: Record<string, [number, number, number]> = {
  'ff0000,ff00,ff,0': [2, 1, 0], // BGRX
  'ff000000,ff0000,ff00,0': [3, 2, 1], // XBGR
  'ff000000,ff0000,ff00,ff': [3, 2, 1], // ABGR
  'ff,ff00,ff0000,ff000000': [0, 1, 2], // RGBA
  'ff0000,ff00,ff,ff000000': [2, 1, 0], // BGRA
  '0,0,0,0': [2, 1, 0], // BGRA
};

export function decodeBmp(bytes: Uint8Array, info: BmpInfo = readBmpInfo(bytes)): RgbImage {
  const { width, height, bitsPerPixel: bits, compression } = info;
  if (bits === 1 || bits === 4 || bits === 8) {
    const palette = readPalette(bytes, info);
    const indices = new Uint8Array(width * height);
    if (compression === RAW) unpackIndexedRows(bytes, info, palette.dataOffset, indices);
    else if ((compression === RLE8 && bits === 8) || (compression === RLE4 && bits === 4)) decodeRle(bytes, info, palette.dataOffset, indices);
    else throw unsupported(`compression ${compression} with ${bits}-bit pixels`);
    return indexedToRgb(width, height, indices, palette.lut);
  }
  if (bits !== 16 && bits !== 24 && bits !== 32) throw unsupported(`${bits}-bit pixels`);
  const out = new Uint8Array(width * height * 3);
  if (compression !== RAW && compression !== BITFIELDS) throw unsupported(`compression ${compression} with ${bits}-bit pixels`);
  const stride = rowStride(width, bits);
  checkPixelData(bytes, info.dataOffset, stride, height);
  const rowAt = (y: number): number => info.dataOffset + (info.topDown ? y : height - 1 - y) * stride;
  if (bits === 16) {
    const is565 = compression === BITFIELDS && bitfields16(bytes) === 565;
    for (let y = 0, o = 0; y < height; y++) {
      const row = rowAt(y);
      for (let x = 0; x < width; x++, o += 3) {
        const v = readU16LE(bytes, row + x * 2);
        if (is565) {
          out[o] = Math.trunc((((v >> 11) & 31) * 255) / 31);
          out[o + 1] = Math.trunc((((v >> 5) & 63) * 255) / 63);
        } else {
          out[o] = Math.trunc((((v >> 10) & 31) * 255) / 31);
          out[o + 1] = Math.trunc((((v >> 5) & 31) * 255) / 31);
        }
        out[o + 2] = Math.trunc(((v & 31) * 255) / 31);
      }
    }
    return { width, height, data: out };
  }
  const step = bits / 8;
  let [r, g, b] = [2, 1, 0];
  if (compression === BITFIELDS) {
    const masks = [0, 1, 2, 3].map((k) => (k === 3 && info.headerSize < 56 ? 0 : readU32LE(bytes, 54 + 4 * k)));
    if (bits === 24 && masks.slice(0, 3).join(',') !== `${0xff0000},${0xff00},${0xff}`) throw unsupportedMasks(masks);
    if (bits === 32) {
      const layout = MASKS_32[masks.map((m) => m.toString(16)).join(',')];
      if (layout === undefined) throw unsupportedMasks(masks);
      [r, g, b] = layout;
    }
  }
  for (let y = 0, o = 0; y < height; y++) {
    const row = rowAt(y);
    for (let x = 0, s = row; x < width; x++, o += 3, s += step) {
      out[o] = bytes[s + r] as number;
      out[o + 1] = bytes[s + g] as number;
      out[o + 2] = bytes[s + b] as number;
    }
  }
  return { width, height, data: out };
}

function unsupported(what: string): UnsupportedMediaTypeError {
  return new UnsupportedMediaTypeError(`BMP with ${what} is not supported (1, 4, 8, 16, 24 and 32-bit BMPs are, uncompressed, RLE or with standard bitfields). Convert the image to PNG.`);
}

function unsupportedMasks(masks: number[]): UnsupportedMediaTypeError {
  return unsupported(`bitfield masks ${masks.map((m) => `0x${m.toString(16)}`).join('/')}`);
}

function rowStride(width: number, bits: number): number {
  return Math.floor((width * bits + 31) / 32) * 4;
}

function checkPixelData(bytes: Uint8Array, offset: number, stride: number, height: number): void {
  if (offset + stride * height > bytes.length) {
    throw new InvalidImageError(`Truncated BMP: the pixel data needs ${stride * height} bytes from byte ${offset}, the file has ${Math.max(0, bytes.length - offset)}.`);
  }
}

function bitfields16(bytes: Uint8Array): 565 | 555 {
  if (bytes.length < 66) throw new InvalidImageError('Truncated BMP: ended inside the bitfield masks.');
  const masks = [0, 1, 2].map((k) => readU32LE(bytes, 54 + 4 * k));
  if (masks[0] === 0xf800 && masks[1] === 0x7e0 && masks[2] === 0x1f) return 565;
  if (masks[0] === 0x7c00 && masks[1] === 0x3e0 && masks[2] === 0x1f) return 555;
  throw unsupportedMasks(masks);
}

/** The palette as a 256-entry RGB table, and where the pixels start (Pillow's rule for files whose offset omits the palette). */
function readPalette(bytes: Uint8Array, info: BmpInfo): { lut: Uint8Array; dataOffset: number } {
  const entrySize = info.headerSize === 12 ? 3 : 4;
  let colors = info.headerSize === 12 || bytes.length < 50 ? 0 : readU32LE(bytes, 46);
  if (colors === 0) colors = 1 << info.bitsPerPixel;
  if (colors > 65536) throw new InvalidImageError(`Invalid BMP: ${colors} palette entries.`);
  const start = 14 + info.headerSize;
  // Pillow reads the palette even when the offset field points at it: then the pixels follow the palette.
  const dataOffset = info.dataOffset === start ? start + 4 * colors : info.dataOffset;
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const at = start + i * entrySize;
    // Pillow reads `colors` entries even where that runs into the pixels or past the end of the file
    // (OS/2 files with short palettes); entries it could not read keep its default grey.
    if (i < colors && at + 3 <= bytes.length) {
      lut[i * 3] = bytes[at + 2] as number;
      lut[i * 3 + 1] = bytes[at + 1] as number;
      lut[i * 3 + 2] = bytes[at] as number;
    } else {
      lut[i * 3] = lut[i * 3 + 1] = lut[i * 3 + 2] = i;
    }
  }
  return { lut, dataOffset };
}

function unpackIndexedRows(bytes: Uint8Array, info: BmpInfo, offset: number, indices: Uint8Array): void {
  const { width, height, bitsPerPixel: bits } = info;
  const stride = rowStride(width, bits);
  checkPixelData(bytes, offset, stride, height);
  const mask = (1 << bits) - 1;
  for (let y = 0; y < height; y++) {
    const row = offset + (info.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const bit = x * bits;
      indices[y * width + x] = ((bytes[row + (bit >> 3)] as number) >> (8 - bits - (bit & 7))) & mask;
    }
  }
}

/** RLE8/RLE4 runs, escapes (end of line, end of bitmap, delta) and absolute runs padded to 16 bits. */
function decodeRle(bytes: Uint8Array, info: BmpInfo, offset: number, indices: Uint8Array): void {
  const { width, height } = info;
  const rle4 = info.bitsPerPixel === 4;
  // File row r (0 = first stored) goes to image row y; RLE rows are stored bottom-up unless top-down.
  const put = (x: number, r: number, v: number): void => {
    if (x < width && r < height) indices[(info.topDown ? r : height - 1 - r) * width + x] = v;
  };
  let pos = offset;
  let x = 0;
  let r = 0;
  for (;;) {
    if (r >= height) return;
    if (pos + 2 > bytes.length) throw new InvalidImageError('Truncated BMP: the RLE data ends before the end-of-bitmap marker.');
    const count = bytes[pos] as number;
    const value = bytes[pos + 1] as number;
    pos += 2;
    if (count > 0) {
      for (let k = 0; k < count; k++, x++) put(x, r, rle4 ? (k % 2 === 0 ? value >> 4 : value & 15) : value);
      continue;
    }
    if (value === 0) {
      x = 0;
      r++;
    } else if (value === 1) {
      return;
    } else if (value === 2) {
      if (pos + 2 > bytes.length) throw new InvalidImageError('Truncated BMP: the RLE data ends inside a delta escape.');
      x += bytes[pos] as number;
      r += bytes[pos + 1] as number;
      pos += 2;
    } else {
      const n = value;
      const dataBytes = rle4 ? Math.ceil(n / 2) : n;
      if (pos + dataBytes > bytes.length) throw new InvalidImageError('Truncated BMP: the RLE data ends inside an absolute run.');
      for (let k = 0; k < n; k++, x++) {
        const byte = bytes[pos + (rle4 ? k >> 1 : k)] as number;
        put(x, r, rle4 ? (k % 2 === 0 ? byte >> 4 : byte & 15) : byte);
      }
      pos += dataBytes + (dataBytes & 1);
    }
  }
}
