/** Small pixel helpers shared by the decoders. */
import { InvalidImageError } from '../errors.ts';

/** RGBA (what the WASM decoders return) -> RGB, alpha dropped without compositing (Pillow's convert('RGB')). */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const n = rgba.length >> 2;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
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
