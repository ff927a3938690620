/** Small pixel helpers shared by the decoders. */
import { InvalidImageError } from '../errors.ts';
import { HOST_IS_LITTLE_ENDIAN } from '../host-endianness.ts';

/** RGBA (what the WASM decoders return) -> RGB, alpha dropped without compositing (Pillow's convert('RGB')). */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const n = rgba.length >> 2;
  const rgb = new Uint8Array(n * 3);
  let i = 0;
  // Four pixels per step as 32-bit words (4 loads, 3 stores instead of 12 and 12): this copy is
  // on every request's path (a 640x480 JPEG: 1.2 ms byte by byte in workerd).
  if (HOST_IS_LITTLE_ENDIAN && (rgba.byteOffset & 3) === 0) {
    const src = new Uint32Array(rgba.buffer, rgba.byteOffset, n);
    const dst = new Uint32Array(rgb.buffer, 0, (n >> 2) * 3);
    for (let w = 0; i + 4 <= n; i += 4, w += 3) {
      const p0 = src[i]!;
      const p1 = src[i + 1]!;
      const p2 = src[i + 2]!;
      const p3 = src[i + 3]!;
      dst[w] = (p0 & 0xffffff) | (p1 << 24);
      dst[w + 1] = ((p1 >>> 8) & 0xffff) | (p2 << 16);
      dst[w + 2] = ((p2 >>> 16) & 0xff) | (p3 << 8);
    }
  }
  for (let j = i * 4, k = i * 3; i < n; i++, j += 4, k += 3) {
    rgb[k] = rgba[j] as number;
    rgb[k + 1] = rgba[j + 1] as number;
    rgb[k + 2] = rgba[j + 2] as number;
  }
  return rgb;
}

/** A decoder's output must have the size the header promised (the pixel limit was checked on the header). */
export function checkDecodedSize(format: string, decoded: { width: number; height: number; data: ArrayLike<number> }, header: { width: number; height: number }): void {
  if (decoded.width !== header.width || decoded.height !== header.height || decoded.data.length !== decoded.width * decoded.height * 4) {
    throw new InvalidImageError(`Cannot decode ${format}: decoded ${decoded.width}x${decoded.height}, header says ${header.width}x${header.height}.`);
  }
}
