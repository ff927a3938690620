/**
 * WebP decoding with libwebp compiled to WASM (@jsquash/webp), the library Pillow links too: lossy
 * (VP8, with libwebp's default "fancy" chroma upsampling), lossless (VP8L) and either with an alpha
 * channel, and the first frame of an animated WebP. Alpha is dropped without compositing, as Pillow's
 * convert('RGB') does; colour under fully transparent pixels is what the file stores.
 */
import { InvalidImageError } from '../errors.ts';
import { readU32LE, readWebpInfo, type WebpInfo } from './image-header.ts';
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

export async function decodeWebp(bytes: Uint8Array, maxPixels: number, info: WebpInfo = readWebpInfo(bytes)): Promise<RgbImage> {
  if (info.animated) return decodeFirstFrame(bytes, info, maxPixels);
  const decoded = await webpCodec.run((m) => {
    const out = m.decode(bytes);
    if (out === null) throw new Error('libwebp could not decode the bitstream (corrupt or truncated file)');
    return out;
  }, { maxPixels });
  checkDecodedSize('WebP', decoded, info);
  return { width: decoded.width, height: decoded.height, data: rgbaToRgb(decoded.data) };
}

interface Chunk {
  type: string;
  start: number;
  end: number;
}

function riffChunks(b: Uint8Array, start: number, end: number): Chunk[] {
  const out: Chunk[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    const type = String.fromCharCode(b[pos] as number, b[pos + 1] as number, b[pos + 2] as number, b[pos + 3] as number);
    const size = readU32LE(b, pos + 4);
    if (pos + 8 + size > end) throw new InvalidImageError(`Truncated WebP: chunk "${type.replace(/[^\x20-\x7e]/g, '?')}" at byte ${pos} runs past the end of the file.`);
    out.push({ type, start: pos + 8, end: pos + 8 + size });
    pos += 8 + size + (size & 1);
  }
  return out;
}

const u24 = (b: Uint8Array, at: number): number => (b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16);

/** A RIFF/WEBP file holding the given chunks (header bytes and payloads copied as they are). */
function webpFile(b: Uint8Array, chunks: readonly Chunk[], vp8x?: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  if (vp8x) parts.push(new Uint8Array([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0]), vp8x);
  for (const c of chunks) {
    parts.push(b.subarray(c.start - 8, c.end));
    if ((c.end - c.start) & 1) parts.push(new Uint8Array(1));
  }
  const body = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(12 + body);
  out.set([0x52, 0x49, 0x46, 0x46, (body + 4) & 0xff, ((body + 4) >> 8) & 0xff, ((body + 4) >> 16) & 0xff, ((body + 4) >>> 24) & 0xff, 0x57, 0x45, 0x42, 0x50]);
  let o = 12;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Animated WebP, first frame, as Pillow's WebPAnimDecoder gives it: the canvas starts transparent black
 * and the first frame (always a key frame, never blended) is decoded into it at its offset; alpha is then
 * dropped. libwebp's still-image decoder is run on the frame's own bitstream (ALPH + VP8, or VP8L).
 */
async function decodeFirstFrame(bytes: Uint8Array, info: WebpInfo, maxPixels: number): Promise<RgbImage> {
  const riffEnd = Math.min(bytes.length, 8 + readU32LE(bytes, 4));
  const anmf = riffChunks(bytes, 12, riffEnd).find((c) => c.type === 'ANMF');
  if (anmf === undefined || anmf.end - anmf.start < 16) throw new InvalidImageError('Invalid WebP: an animated WebP without a frame (ANMF chunk).');
  const x = 2 * u24(bytes, anmf.start);
  const y = 2 * u24(bytes, anmf.start + 3);
  const w = 1 + u24(bytes, anmf.start + 6);
  const h = 1 + u24(bytes, anmf.start + 9);
  if (x + w > info.width || y + h > info.height) {
    throw new InvalidImageError(`Invalid WebP: the first frame (${w}x${h} at ${x},${y}) does not fit the ${info.width}x${info.height} canvas.`);
  }
  const sub = riffChunks(bytes, anmf.start + 16, anmf.end);
  const alph = sub.find((c) => c.type === 'ALPH');
  const image = sub.find((c) => c.type === 'VP8 ' || c.type === 'VP8L');
  if (image === undefined) throw new InvalidImageError('Invalid WebP: the first frame has no image data (VP8 or VP8L chunk).');
  // Lossy with alpha needs the extended container: VP8X with the alpha flag and the frame's size.
  const vp8x = alph && image.type === 'VP8 ' ? new Uint8Array([0x10, 0, 0, 0, (w - 1) & 0xff, ((w - 1) >> 8) & 0xff, (w - 1) >> 16, (h - 1) & 0xff, ((h - 1) >> 8) & 0xff, (h - 1) >> 16]) : undefined;
  const frameFile = webpFile(bytes, vp8x ? [alph as Chunk, image] : [image], vp8x);
  const decoded = await webpCodec.run((m) => {
    const out = m.decode(frameFile);
    if (out === null) throw new Error('libwebp could not decode the first frame (corrupt or truncated file)');
    return out;
  }, { maxPixels });
  checkDecodedSize('WebP', decoded, { width: w, height: h });
  const rgb = rgbaToRgb(decoded.data);
  const canvas = new Uint8Array(info.width * info.height * 3);
  for (let r = 0; r < h; r++) canvas.set(rgb.subarray(r * w * 3, (r + 1) * w * 3), ((y + r) * info.width + x) * 3);
  return { width: info.width, height: info.height, data: canvas };
}
