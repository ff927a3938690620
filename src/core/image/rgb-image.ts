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
