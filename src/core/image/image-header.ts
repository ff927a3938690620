import { InvalidImageError, UnsupportedMediaTypeError } from '../errors.ts';

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'bmp' | 'avif';

/** What each format's header says beyond the size: what that format's decoder needs. */
export interface HeaderInfo {
  jpeg: JpegFrameInfo;
  png: ReturnType<typeof readPngIhdr>;
  gif: ReturnType<typeof readGifLayout>;
  webp: WebpInfo;
  bmp: BmpInfo;
  avif: ReturnType<typeof readAvifInfo>;
}

/**
 * Format, size and the format's own header fields (`info`), read once: the worker reads it on
 * arrival to check the pixel limit and hands it to decodeImage(), whose decoders use `info` rather
 * than parsing the header again.
 */
export type ImageHeader = { [F in ImageFormat]: { format: F; width: number; height: number; info: HeaderInfo[F] } }[ImageFormat];

/** JPEG frame parameters from the first SOFn segment; `components` tells greyscale (1), colour (3) and CMYK (4) apart. */
export interface JpegFrameInfo {
  width: number;
  height: number;
  components: number;
  precision: number;
  sofMarker: number;
}

/** Every format decodeImage() accepts, for messages; docs/api.md says what each one's pixels become. */
export const SUPPORTED_FORMATS_TEXT = 'Supported formats: JPEG, PNG, WebP, GIF, BMP and AVIF.';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads format and dimensions from the first bytes of an image without decoding pixels, so that a
 * small upload declaring a huge canvas can be refused before any memory is spent on it.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const format = sniffFormat(bytes);
  const info = HEADER_READERS[format](bytes);
  // TypeScript cannot tie `info` to `format` through the table's index; HEADER_READERS' type does.
  return { format, width: info.width, height: info.height, info } as ImageHeader;
}

const HEADER_READERS: { readonly [F in ImageFormat]: (bytes: Uint8Array) => HeaderInfo[F] } = {
  jpeg: (b) => readJpegFrameInfo(b),
  png: (b) => readPngIhdr(b),
  gif: (b) => readGifLayout(b),
  webp: (b) => readWebpInfo(b),
  bmp: (b) => readBmpInfo(b),
  avif: (b) => readAvifInfo(b),
};

/** Identifies the image format by magic bytes; names other well-known formats in the error so the user knows what to convert. */
export function sniffFormat(bytes: Uint8Array): ImageFormat {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && PNG_SIGNATURE.every((x, i) => b[i] === x)) return 'png';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'bmp';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp' && ftypBrands(b).some((brand) => brand === 'avif' || brand === 'avis')) return 'avif';
  const other = otherFormatName(b);
  if (other !== undefined) {
    throw new UnsupportedMediaTypeError(`${other} images are not supported. ${SUPPORTED_FORMATS_TEXT} Convert the image to one of them (JPEG or PNG are safest).`);
  }
  if (b.length === 0) throw new InvalidImageError('The image is empty (0 bytes).');
  throw new InvalidImageError(`The bytes are not an image in a supported format (unrecognised header ${hexPrefix(b)}). ${SUPPORTED_FORMATS_TEXT}`);
}

function ascii(b: Uint8Array, start: number, len: number): string {
  return String.fromCharCode(...b.subarray(start, start + len));
}

/** Major brand and compatible brands of an ISOBMFF `ftyp` box that starts the file. */
function ftypBrands(b: Uint8Array): string[] {
  const size = Math.min(readU32(b, 0), b.length, 4096);
  const brands = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(b, at, 4));
  return brands;
}

function otherFormatName(b: Uint8Array): string | undefined {
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'TIFF';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') {
    const brands = ftypBrands(b);
    if (brands.some((brand) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand))) return 'HEIC/HEIF';
  }
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ICO';
  if (b.length >= 8 && readU32(b, 0) === 12 && ascii(b, 4, 4) === 'jP  ') return 'JPEG 2000';
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0x4f && b[2] === 0xff && b[3] === 0x51) return 'JPEG 2000';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) return 'JPEG XL';
  if (b.length >= 12 && ascii(b, 4, 8) === 'JXL \r\n\x87\n') return 'JPEG XL';
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

export function readU16LE(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}

export function readU32LE(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0;
}

function readI32LE(b: Uint8Array, at: number): number {
  return readU32LE(b, at) | 0;
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

/** The first frame of a GIF: where it sits on the canvas and where its data starts. */
export interface GifFrame {
  left: number;
  top: number;
  width: number;
  height: number;
  interlaced: boolean;
  palette: Uint8Array | undefined;
  transparent: number | undefined;
  minCodeSize: number;
  /** Offset of the first LZW data sub-block. */
  dataStart: number;
}

const gifTruncated = (): InvalidImageError => new InvalidImageError('Truncated GIF: the file ends before the first frame is complete.');

/**
 * GIF: the canvas is the logical screen, grown (as Pillow grows it) to hold the first frame if that
 * reaches past it, so the header walks extension blocks up to the first image descriptor.
 */
export function readGifLayout(b: Uint8Array): { width: number; height: number; frame: GifFrame } {
  if (b.length < 13) throw new InvalidImageError(`Truncated GIF: ${b.length} bytes is too short to hold the screen descriptor.`);
  const screenWidth = readU16LE(b, 6);
  const screenHeight = readU16LE(b, 8);
  const flags = b[10] as number;
  let pos = 13;
  let globalPalette: Uint8Array | undefined;
  if (flags & 0x80) {
    const size = 3 << ((flags & 7) + 1);
    if (pos + size > b.length) throw gifTruncated();
    globalPalette = b.subarray(pos, pos + size);
    pos += size;
  }
  const frame = readGifFirstFrame(b, pos, globalPalette);
  const width = Math.max(screenWidth, frame.left + frame.width);
  const height = Math.max(screenHeight, frame.top + frame.height);
  if (width === 0 || height === 0) throw new InvalidImageError(`Invalid GIF: canvas size ${width}x${height}.`);
  return { width, height, frame };
}

/** Skips extensions up to the first image descriptor, remembering the transparent index of a graphic control extension. */
function readGifFirstFrame(bytes: Uint8Array, start: number, globalPalette: Uint8Array | undefined): GifFrame {
  let pos = start;
  let transparent: number | undefined;
  for (;;) {
    if (pos >= bytes.length) throw gifTruncated();
    const tag = bytes[pos] as number;
    if (tag === 0x3b) throw new InvalidImageError('Invalid GIF: the file has no image (trailer before the first frame).');
    if (tag === 0x21) {
      if (pos + 2 > bytes.length) throw gifTruncated();
      const label = bytes[pos + 1] as number;
      pos += 2;
      const first = pos;
      if (label === 0xf9 && first + 5 <= bytes.length && (bytes[first] as number) >= 4) {
        const gceFlags = bytes[first + 1] as number;
        transparent = gceFlags & 1 ? (bytes[first + 4] as number) : undefined;
      }
      pos = skipSubBlocks(bytes, pos);
      continue;
    }
    if (tag !== 0x2c) throw new InvalidImageError(`Invalid GIF: unexpected block 0x${tag.toString(16)} at byte ${pos}.`);
    if (pos + 10 > bytes.length) throw gifTruncated();
    const left = readU16LE(bytes, pos + 1);
    const top = readU16LE(bytes, pos + 3);
    const width = readU16LE(bytes, pos + 5);
    const height = readU16LE(bytes, pos + 7);
    const flags = bytes[pos + 9] as number;
    pos += 10;
    let palette = globalPalette;
    if (flags & 0x80) {
      const size = 3 << ((flags & 7) + 1);
      if (pos + size > bytes.length) throw gifTruncated();
      palette = bytes.subarray(pos, pos + size);
      pos += size;
    }
    if (pos >= bytes.length) throw gifTruncated();
    const minCodeSize = bytes[pos] as number;
    if (minCodeSize < 1 || minCodeSize > 11) throw new InvalidImageError(`Invalid GIF: LZW minimum code size ${minCodeSize}.`);
    return { left, top, width, height, interlaced: (flags & 0x40) !== 0, palette, transparent, minCodeSize, dataStart: pos + 1 };
  }
}

function skipSubBlocks(bytes: Uint8Array, start: number): number {
  let pos = start;
  for (;;) {
    if (pos >= bytes.length) throw gifTruncated();
    const n = bytes[pos] as number;
    pos += 1 + n;
    if (n === 0) return pos;
  }
}

export interface WebpInfo {
  width: number;
  height: number;
  /** VP8X canvas with the animation flag: several frames (ANMF chunks). */
  animated: boolean;
  /** First image chunk: 'VP8 ' (lossy), 'VP8L' (lossless) or 'VP8X' (extended: alpha, metadata, animation). */
  kind: 'VP8 ' | 'VP8L' | 'VP8X';
}

/** WebP: the first chunk after the RIFF header is VP8 (lossy frame header), VP8L (lossless header) or VP8X (canvas size). */
export function readWebpInfo(b: Uint8Array): WebpInfo {
  if (b.length < 30) throw new InvalidImageError(`Truncated WebP: ${b.length} bytes is too short to hold the image header.`);
  const kind = ascii(b, 12, 4);
  const data = 20;
  if (kind === 'VP8 ') {
    // 3-byte frame tag (bit 0 clear on a key frame), start code 9d 01 2a, then 14-bit width and height.
    if (((b[data] as number) & 1) !== 0 || b[data + 3] !== 0x9d || b[data + 4] !== 0x01 || b[data + 5] !== 0x2a) {
      throw new InvalidImageError('Invalid WebP: the VP8 chunk does not start with a key frame.');
    }
    return checkedWebp(readU16LE(b, data + 6) & 0x3fff, readU16LE(b, data + 8) & 0x3fff, false, kind);
  }
  if (kind === 'VP8L') {
    if (b[data] !== 0x2f) throw new InvalidImageError('Invalid WebP: the VP8L chunk lacks its signature byte.');
    const bits = readU32LE(b, data + 1);
    return checkedWebp((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, false, kind);
  }
  if (kind === 'VP8X') {
    const width = 1 + ((b[data + 4] as number) | ((b[data + 5] as number) << 8) | ((b[data + 6] as number) << 16));
    const height = 1 + ((b[data + 7] as number) | ((b[data + 8] as number) << 8) | ((b[data + 9] as number) << 16));
    return checkedWebp(width, height, ((b[data] as number) & 0x02) !== 0, kind);
  }
  throw new InvalidImageError(`Invalid WebP: unknown first chunk "${ascii(b, 12, 4).replace(/[^\x20-\x7e]/g, '?')}".`);
}

function checkedWebp(width: number, height: number, animated: boolean, kind: WebpInfo['kind']): WebpInfo {
  if (width === 0 || height === 0) throw new InvalidImageError(`Invalid WebP: dimensions ${width}x${height}.`);
  return { width, height, animated, kind };
}

export interface BmpInfo {
  width: number;
  height: number;
  /** Rows stored top row first (negative height in the header). */
  topDown: boolean;
  headerSize: number;
  bitsPerPixel: number;
  compression: number;
  /** Start of the pixel array (from the file header). */
  dataOffset: number;
}

const BMP_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/** BMP: 14-byte file header, then a DIB header whose size names its version (OS/2 core 12 bytes, Windows 40..124). */
export function readBmpInfo(b: Uint8Array): BmpInfo {
  if (b.length < 26) throw new InvalidImageError(`Truncated BMP: ${b.length} bytes is too short to hold the headers.`);
  const headerSize = readU32LE(b, 14);
  if (!BMP_HEADER_SIZES.has(headerSize)) throw new UnsupportedMediaTypeError(`BMP header type ${headerSize} is not supported (BMP headers of 12, 40, 52, 56, 64, 108 or 124 bytes are). Convert the image to PNG.`);
  const dataOffset = readU32LE(b, 10);
  if (headerSize === 12) {
    const width = readU16LE(b, 18);
    const height = readU16LE(b, 20);
    if (width === 0 || height === 0) throw new InvalidImageError(`Invalid BMP: dimensions ${width}x${height}.`);
    return { width, height, topDown: false, headerSize, bitsPerPixel: readU16LE(b, 24), compression: 0, dataOffset };
  }
  if (b.length < 14 + 20) throw new InvalidImageError(`Truncated BMP: ${b.length} bytes is too short to hold the headers.`);
  const width = readI32LE(b, 18);
  const rawHeight = readI32LE(b, 22);
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000) throw new InvalidImageError(`Invalid BMP: dimensions ${width}x${rawHeight}.`);
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    headerSize,
    bitsPerPixel: readU16LE(b, 28),
    compression: readU32LE(b, 30),
    dataOffset,
  };
}

interface Box {
  type: string;
  /** Offset of the payload (after the size/type header). */
  start: number;
  end: number;
}

/** ISOBMFF boxes between `start` and `end`; a box that claims more than its parent holds is invalid. */
function boxes(b: Uint8Array, start: number, end: number): Box[] {
  const out: Box[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = readU32(b, pos);
    const type = ascii(b, pos + 4, 4);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > end) throw new InvalidImageError('Truncated AVIF: ended inside a box header.');
      const high = readU32(b, pos + 8);
      size = high * 2 ** 32 + readU32(b, pos + 12);
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) throw new InvalidImageError(`Invalid AVIF: box "${type.replace(/[^\x20-\x7e]/g, '?')}" at byte ${pos} has size ${size}, past the end of its container.`);
    out.push({ type, start: pos + header, end: pos + size });
    pos += size;
  }
  return out;
}

/** AVIF (HEIF): the `ispe` (image spatial extent) property of the primary item, read from meta/iprp. */
export function readAvifInfo(b: Uint8Array): { width: number; height: number } {
  const top = boxes(b, 0, b.length);
  const meta = top.find((x) => x.type === 'meta');
  if (meta === undefined) throw new InvalidImageError('Invalid or truncated AVIF: no "meta" box before the end of the file.');
  // meta is a full box: 4 bytes of version and flags before its children.
  const metaChildren = boxes(b, meta.start + 4, meta.end);
  const pitm = metaChildren.find((x) => x.type === 'pitm');
  const iprp = metaChildren.find((x) => x.type === 'iprp');
  if (iprp === undefined) throw new InvalidImageError('Invalid AVIF: no item properties ("iprp" box).');
  const iprpChildren = boxes(b, iprp.start, iprp.end);
  const ipco = iprpChildren.find((x) => x.type === 'ipco');
  if (ipco === undefined) throw new InvalidImageError('Invalid AVIF: no property container ("ipco" box).');
  const properties = boxes(b, ipco.start, ipco.end);
  const ispe = (p: Box): { width: number; height: number } => {
    if (p.end - p.start < 12) throw new InvalidImageError('Invalid AVIF: "ispe" box too short.');
    return { width: readU32(b, p.start + 4), height: readU32(b, p.start + 8) };
  };
  let size: { width: number; height: number } | undefined;
  if (pitm !== undefined && pitm.end - pitm.start >= 6) {
    const primary = b[pitm.start] === 0 ? readU16(b, pitm.start + 4) : readU32(b, pitm.start + 4);
    for (const ipma of iprpChildren.filter((x) => x.type === 'ipma')) {
      const version = b[ipma.start] as number;
      const wideIndex = ((b[ipma.start + 3] as number) & 1) === 1;
      let pos = ipma.start + 4;
      if (pos + 4 > ipma.end) break;
      const entries = readU32(b, pos);
      pos += 4;
      for (let e = 0; e < entries && pos < ipma.end && size === undefined; e++) {
        const item = version < 1 ? readU16(b, pos) : readU32(b, pos);
        pos += version < 1 ? 2 : 4;
        const count = b[pos] as number;
        pos += 1;
        for (let a = 0; a < count && pos < ipma.end; a++) {
          const index = wideIndex ? readU16(b, pos) & 0x7fff : (b[pos] as number) & 0x7f;
          pos += wideIndex ? 2 : 1;
          const prop = properties[index - 1];
          if (item === primary && prop !== undefined && prop.type === 'ispe') size = ispe(prop);
        }
      }
    }
  }
  if (size === undefined) {
    // No association found: the largest declared extent is the one that must pass the pixel limit.
    for (const p of properties.filter((x) => x.type === 'ispe')) {
      const s = ispe(p);
      if (size === undefined || s.width * s.height > size.width * size.height) size = s;
    }
  }
  if (size === undefined) throw new InvalidImageError('Invalid AVIF: no image size ("ispe" property).');
  if (size.width === 0 || size.height === 0) throw new InvalidImageError(`Invalid AVIF: dimensions ${size.width}x${size.height}.`);
  return size;
}
