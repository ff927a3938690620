/**
 * GIF decoding, first frame only, written here rather than taken from a library because what the
 * first frame's pixels become has to follow Pillow 9.4 exactly (omggif, for one, leaves transparent
 * pixels unwritten), and an LZW decoder is small. Pillow's rules, checked by scripts/gen-image-vectors.py:
 *   - the canvas is the logical screen, grown to hold the first frame if that reaches past it;
 *   - canvas pixels outside the frame are the frame's transparent index if it has one, else index 0;
 *   - colours come from the local palette, else the global one; an index past the palette (or a file
 *     with no palette) reads grey (i, i, i); transparency is dropped, not composited;
 *   - later frames are never read (animation is ignored).
 */
import { ImageTooLargeError, InvalidImageError } from '../errors.ts';
import { readGifLayout, type GifFrame, type HeaderInfo } from './image-header.ts';
import { indexedToRgb, type RgbImage } from './rgb-image.ts';

export interface GifDecodeOptions {
  /** Largest canvas accepted: the first frame may grow the canvas past the header's logical screen. */
  maxPixels: number;
}

const truncated = (): InvalidImageError => new InvalidImageError('Truncated GIF: the file ends before the first frame is complete.');

export function decodeGif(bytes: Uint8Array, opts: GifDecodeOptions, layout: HeaderInfo['gif'] = readGifLayout(bytes)): RgbImage {
  const { width, height, frame } = layout;
  // readImageHeader() reports this canvas, so decodeImage() has checked it; a direct caller is checked here.
  if (width * height > opts.maxPixels) {
    throw new ImageTooLargeError(`The GIF's canvas is ${width}x${height}, over the limit of ${opts.maxPixels} pixels.`);
  }
  const indices = new Uint8Array(width * height);
  if (frame.transparent !== undefined) indices.fill(frame.transparent);
  decodeFrameIndices(bytes, frame, indices, width);

  const lut = new Uint8Array(256 * 3);
  const palette = frame.palette;
  for (let i = 0; i < 256; i++) {
    const inPalette = palette !== undefined && i * 3 + 3 <= palette.length;
    lut[i * 3] = inPalette ? (palette[i * 3] as number) : i;
    lut[i * 3 + 1] = inPalette ? (palette[i * 3 + 1] as number) : i;
    lut[i * 3 + 2] = inPalette ? (palette[i * 3 + 2] as number) : i;
  }
  return indexedToRgb(width, height, indices, lut);
}

/** Row order of an interlaced frame: every 8th row from 0, every 8th from 4, every 4th from 2, every 2nd from 1. */
function rowOrder(height: number, interlaced: boolean): Int32Array {
  const rows = new Int32Array(height);
  if (!interlaced) {
    for (let y = 0; y < height; y++) rows[y] = y;
    return rows;
  }
  let k = 0;
  for (const [first, step] of [[0, 8], [4, 8], [2, 4], [1, 2]] as const) for (let y = first; y < height; y += step) rows[k++] = y;
  return rows;
}

/** LZW-decodes the frame's indices straight into the canvas; stops at the end code or once every pixel is set. */
function decodeFrameIndices(bytes: Uint8Array, frame: GifFrame, canvas: Uint8Array, canvasWidth: number): void {
  const total = frame.width * frame.height;
  if (total === 0) return;
  const rows = rowOrder(frame.height, frame.interlaced);
  const clear = 1 << frame.minCodeSize;
  const end = clear + 1;
  // Code table as prefix links: prefix[code], suffix[code], and the first byte and length of each string.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let c = 0; c < clear; c++) {
    suffix[c] = c & 0xff;
    first[c] = c & 0xff;
    length[c] = 1;
  }
  const stack = new Uint8Array(4096);
  let codeSize = frame.minCodeSize + 1;
  let next = clear + 2;
  let prev = -1;
  let written = 0;

  let pos = frame.dataStart;
  let blockEnd = pos;
  let bitBuffer = 0;
  let bitCount = 0;

  const emit = (code: number): void => {
    const n = length[code] as number;
    let c = code;
    for (let k = n - 1; k >= 0; k--) {
      stack[k] = suffix[c] as number;
      c = prefix[c] as number;
    }
    for (let k = 0; k < n && written < total; k++, written++) {
      const fy = (written / frame.width) | 0;
      const fx = written - fy * frame.width;
      canvas[(frame.top + (rows[fy] as number)) * canvasWidth + frame.left + fx] = stack[k] as number;
    }
  };

  while (written < total) {
    while (bitCount < codeSize) {
      if (pos >= blockEnd) {
        if (pos >= bytes.length) throw truncated();
        const n = bytes[pos] as number;
        if (n === 0) throw truncated();
        pos += 1;
        blockEnd = pos + n;
        if (blockEnd > bytes.length) throw truncated();
      }
      bitBuffer |= (bytes[pos] as number) << bitCount;
      pos += 1;
      bitCount += 8;
    }
    const code = bitBuffer & ((1 << codeSize) - 1);
    bitBuffer >>>= codeSize;
    bitCount -= codeSize;

    if (code === clear) {
      codeSize = frame.minCodeSize + 1;
      next = clear + 2;
      prev = -1;
      continue;
    }
    if (code === end) return;
    if (prev === -1) {
      if (code >= clear) throw new InvalidImageError(`Invalid GIF: LZW code ${code} before any string is defined.`);
      emit(code);
      prev = code;
      continue;
    }
    let firstByte: number;
    if (code < next) firstByte = first[code] as number;
    else if (code === next) firstByte = first[prev] as number;
    else throw new InvalidImageError(`Invalid GIF: LZW code ${code} is past the table (next code ${next}).`);
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = firstByte;
      first[next] = first[prev] as number;
      length[next] = (length[prev] as number) + 1;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    emit(code);
    prev = code;
  }
}
