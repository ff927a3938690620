import { InvalidArgumentError } from '../errors.ts';

/** A decoded 8-bit image: RGB interleaved, row-major, 3 bytes per pixel (what Pillow's `convert('RGB')` holds). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Checks the invariants every image function relies on; the message names the caller's problem. */
export function assertRgbImage(img: RgbImage, what = 'image'): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`${what}: expected ${width * height * 3} bytes of RGB data for ${width}x${height}, got ${data.length}`);
  }
}

/** Palette indices (one byte per pixel) through a 256-entry RGB lookup table: BMP's and GIF's indexed pixels. */
export function indexedToRgb(width: number, height: number, indices: Uint8Array, lut: Uint8Array): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < indices.length; i++) {
    const p = (indices[i] as number) * 3;
    out[i * 3] = lut[p] as number;
    out[i * 3 + 1] = lut[p + 1] as number;
    out[i * 3 + 2] = lut[p + 2] as number;
  }
  return { width, height, data: out };
}

/** A rectangle of an image, in whole pixels. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Copies a rectangle out of an image (PIL's Image.crop for a box inside the image). */
export function cropImage(img: RgbImage, box: CropBox): RgbImage {
  const { top, left, height, width } = box;
  if (top < 0 || left < 0 || height <= 0 || width <= 0 || top + height > img.height || left + width > img.width) {
    throw new InvalidArgumentError(`Crop ${width}x${height} at (${left}, ${top}) does not fit in the ${img.width}x${img.height} image.`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const src = ((top + r) * img.width + left) * 3;
    out.set(img.data.subarray(src, src + width * 3), r * width * 3);
  }
  return { width, height, data: out };
}
