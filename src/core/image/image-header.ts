import { InvalidImageError, UnsupportedMediaTypeError } from '../errors.ts';

export type ImageFormat = 'jpeg' | 'png';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** JPEG frame parameters from the first SOFn segment; `components` tells greyscale (1), colour (3) and CMYK (4) apart. */
export interface JpegFrameInfo {
  width: number;
  height: number;
  components: number;
  precision: number;
  sofMarker: number;
}

const SUPPORTED = 'Supported formats: JPEG and PNG.';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads format and dimensions from the first bytes of an image without decoding pixels, so that a
 * small upload declaring a huge canvas can be refused before any memory is spent on it.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    const { width, height } = readPngIhdr(bytes);
    return { format, width, height };
  }
  const { width, height } = readJpegFrameInfo(bytes);
  return { format, width, height };
}

/** Identifies JPEG/PNG by magic bytes; names other well-known formats in the error so the user knows what to convert. */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  const other = otherFormatName(bytes);
  if (other !== undefined) {
    throw new UnsupportedMediaTypeError(`${other} images are not supported. ${SUPPORTED} Convert the image to JPEG or PNG.`);
  }
  if (bytes.length === 0) throw new InvalidImageError('The image is empty (0 bytes).');
  throw new InvalidImageError(`The bytes are not a JPEG or PNG image (unrecognised header ${hexPrefix(bytes)}). ${SUPPORTED}`);
}

function otherFormatName(b: Uint8Array): string | undefined {
  const ascii = (start: number, len: number): string => String.fromCharCode(...b.subarray(start, start + len));
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'GIF';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP';
  if (b.length >= 2 && ascii(0, 2) === 'BM') return 'BMP';
  if (b.length >= 4 && ((ascii(0, 4) === 'II*\0') || ascii(0, 4) === 'MM\0*')) return 'TIFF';
  if (b.length >= 12 && ascii(4, 4) === 'ftyp') {
    const brand = ascii(8, 4);
    if (brand === 'avif' || brand === 'avis') return 'AVIF';
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return 'HEIC/HEIF';
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ICO';
  if (b.length >= 8 && readU32(b, 0) === 12 && ascii(4, 4) === 'jP  ') return 'JPEG 2000';
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return 'JPEG 2000';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) return 'JPEG XL';
  if (b.length >= 12 && ascii(4, 8) === 'JXL \r\n\x87\n') return 'JPEG XL';
  return undefined;
}

function hexPrefix(b: Uint8Array): string {
  return Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function readU16(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 8) | (b[at + 1] as number);
}

function readU32(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0;
}

/** PNG: the IHDR chunk must come first, right after the 8-byte signature. */
export function readPngIhdr(b: Uint8Array): { width: number; height: number; bitDepth: number; colorType: number; interlace: number } {
  // signature (8) + length (4) + "IHDR" (4) + 13 data bytes
  if (b.length < 8 + 8 + 13) throw new InvalidImageError(`Truncated PNG: ${b.length} bytes is too short to hold the IHDR header.`);
  const length = readU32(b, 8);
  const type = String.fromCharCode(...b.subarray(12, 16));
  if (type !== 'IHDR' || length !== 13) throw new InvalidImageError('Invalid PNG: the first chunk is not a 13-byte IHDR.');
  const width = readU32(b, 16);
  const height = readU32(b, 20);
  // The PNG spec caps dimensions at 2^31-1; zero is invalid.
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new InvalidImageError(`Invalid PNG: dimensions ${width}x${height}.`);
  }
  return { width, height, bitDepth: b[24] as number, colorType: b[25] as number, interlace: b[28] as number };
}

// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
function isSofMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** JPEG: walks marker segments from SOI to the first SOFn (frame header), never into entropy-coded data. */
export function readJpegFrameInfo(b: Uint8Array): JpegFrameInfo {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new InvalidImageError('Invalid JPEG: missing SOI marker.');
  let pos = 2;
  for (;;) {
    if (pos >= b.length) throw new InvalidImageError('Truncated JPEG: ended before the frame header (SOF).');
    if (b[pos] !== 0xff) throw new InvalidImageError(`Invalid JPEG: expected a marker at byte ${pos}, found 0x${(b[pos] as number).toString(16)}.`);
    // Any number of 0xFF fill bytes may precede a marker code.
    while (pos < b.length && b[pos] === 0xff) pos++;
    if (pos >= b.length) throw new InvalidImageError('Truncated JPEG: ended inside a marker.');
    const marker = b[pos] as number;
    pos++;
    // Standalone markers carry no length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8) throw new InvalidImageError('Invalid JPEG: a second SOI marker before the frame header.');
    if (marker === 0xd9 || marker === 0xda) throw new InvalidImageError('Invalid JPEG: no frame header (SOF) before the image data.');
    if (pos + 2 > b.length) throw new InvalidImageError('Truncated JPEG: ended inside a segment length.');
    const segLen = readU16(b, pos);
    if (segLen < 2) throw new InvalidImageError(`Invalid JPEG: segment length ${segLen} at byte ${pos}.`);
    if (isSofMarker(marker)) {
      if (segLen < 8 || pos + 8 > b.length) throw new InvalidImageError('Truncated JPEG: ended inside the frame header.');
      const precision = b[pos + 2] as number;
      const height = readU16(b, pos + 3);
      const width = readU16(b, pos + 5);
      const components = b[pos + 7] as number;
      // Height 0 means "defined later by a DNL marker", which neither libjpeg build here supports.
      if (width === 0 || height === 0) throw new InvalidImageError(`Invalid JPEG: frame dimensions ${width}x${height}.`);
      return { width, height, components, precision, sofMarker: marker };
    }
    pos += segLen;
  }
}
