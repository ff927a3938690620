/**
 * EXIF orientation: where a file keeps it, and turning the stored pixels into what a person sees (as
 * browsers and Pillow's ImageOps.exif_transpose do). Only the Orientation tag (0x0112) of IFD0 is read.
 * Sources: JPEG APP1 "Exif", PNG eXIf chunk, WebP EXIF chunk. GIF and BMP carry no EXIF; AVIF states
 * rotation with irot/imir boxes, which are not applied (docs/api.md).
 */
import type { ImageFormat } from './image-header.ts';
import type { RgbImage } from './rgb-image.ts';

/** `apply`: pixels as a person sees the photo (default). `ignore`: pixels as stored (Pillow's Image.open, HF's CLIPImageProcessor). */
export type ExifMode = 'apply' | 'ignore';

export const EXIF_MODES: readonly ExifMode[] = ['apply', 'ignore'];

export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** The EXIF orientation of an image file, 1 (as stored) when it has none or an invalid one. Never throws. */
export function readOrientation(bytes: Uint8Array, format: ImageFormat): Orientation {
  const tiff = format === 'jpeg' ? jpegExif(bytes) : format === 'png' ? pngExif(bytes) : format === 'webp' ? webpExif(bytes) : undefined;
  if (tiff === undefined) return 1;
  const o = tiffOrientation(tiff);
  return o !== undefined && o >= 1 && o <= 8 ? (o as Orientation) : 1;
}

function isExifHeader(b: Uint8Array, at: number): boolean {
  return b[at] === 0x45 && b[at + 1] === 0x78 && b[at + 2] === 0x69 && b[at + 3] === 0x66 && b[at + 4] === 0 && b[at + 5] === 0;
}

/** APP1 segments before the first scan; the TIFF data follows "Exif\0\0". */
function jpegExif(b: Uint8Array): Uint8Array | undefined {
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return undefined;
    const marker = b[pos + 1] as number;
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      pos += 2;
      continue;
    }
    const len = ((b[pos + 2] as number) << 8) | (b[pos + 3] as number);
    if (len < 2) return undefined;
    const end = Math.min(b.length, pos + 2 + len);
    if (marker === 0xe1 && isExifHeader(b, pos + 4)) return b.subarray(pos + 10, end);
    pos += 2 + len;
  }
  return undefined;
}

/** The eXIf chunk holds the TIFF data directly (some writers keep the "Exif\0\0" prefix; skip it). */
function pngExif(b: Uint8Array): Uint8Array | undefined {
  let pos = 8;
  while (pos + 8 <= b.length) {
    const len = (((b[pos] as number) << 24) | ((b[pos + 1] as number) << 16) | ((b[pos + 2] as number) << 8) | (b[pos + 3] as number)) >>> 0;
    const type = String.fromCharCode(b[pos + 4] as number, b[pos + 5] as number, b[pos + 6] as number, b[pos + 7] as number);
    const start = pos + 8;
    const end = Math.min(b.length, start + len);
    if (type === 'eXIf') return isExifHeader(b, start) ? b.subarray(start + 6, end) : b.subarray(start, end);
    if (type === 'IEND') return undefined;
    pos = start + len + 4;
  }
  return undefined;
}

/** RIFF chunks after "WEBP": an "EXIF" chunk (VP8X files) holds the TIFF data. */
function webpExif(b: Uint8Array): Uint8Array | undefined {
  let pos = 12;
  while (pos + 8 <= b.length) {
    const type = String.fromCharCode(b[pos] as number, b[pos + 1] as number, b[pos + 2] as number, b[pos + 3] as number);
    const len = ((b[pos + 4] as number) | ((b[pos + 5] as number) << 8) | ((b[pos + 6] as number) << 16) | ((b[pos + 7] as number) << 24)) >>> 0;
    const start = pos + 8;
    const end = Math.min(b.length, start + len);
    if (type === 'EXIF') return isExifHeader(b, start) ? b.subarray(start + 6, end) : b.subarray(start, end);
    pos = start + len + (len & 1);
  }
  return undefined;
}

/** IFD0's Orientation entry (SHORT) of a TIFF structure, either byte order. */
function tiffOrientation(t: Uint8Array): number | undefined {
  if (t.length < 8) return undefined;
  const little = t[0] === 0x49 && t[1] === 0x49;
  if (!little && !(t[0] === 0x4d && t[1] === 0x4d)) return undefined;
  const u16 = (at: number): number => (little ? (t[at] as number) | ((t[at + 1] as number) << 8) : ((t[at] as number) << 8) | (t[at + 1] as number));
  const u32 = (at: number): number =>
    (little
      ? (t[at] as number) | ((t[at + 1] as number) << 8) | ((t[at + 2] as number) << 16) | ((t[at + 3] as number) << 24)
      : ((t[at] as number) << 24) | ((t[at + 1] as number) << 16) | ((t[at + 2] as number) << 8) | (t[at + 3] as number)) >>> 0;
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > t.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) return undefined;
    if (u16(e) === 0x0112 && u16(e + 2) === 3) return u16(e + 8);
  }
  return undefined;
}

/**
 * The pixels as displayed for an orientation: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
 * clockwise, 7 transverse, 8 rotate 90 anticlockwise (Pillow's exif_transpose table).
 */
export function applyOrientation(img: RgbImage, orientation: Orientation): RgbImage {
  if (orientation === 1) return img;
  const { width: w, height: h, data } = img;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel (sx, sy) shown at (x, y).
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sx = x; sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        default: sx = w - 1 - y; sy = x; break; // 8
      }
      const s = (sy * w + sx) * 3;
      const d = (y * ow + x) * 3;
      out[d] = data[s] as number;
      out[d + 1] = data[s + 1] as number;
      out[d + 2] = data[s + 2] as number;
    }
  }
  return { width: ow, height: oh, data: out };
}
