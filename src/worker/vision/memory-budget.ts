/**
 * How large an image this isolate can decode next to its encoder. A Worker isolate has 128 MB
 * (JavaScript heap, ArrayBuffers and WebAssembly memory together), and decoding costs memory per
 * pixel while the encoder's WASM memory is fixed and never shrinks: with ViT-B/32 on the edge-vit
 * engine (87 MiB), a 3-megapixel JPEG would take the isolate past the limit (measured: MozJPEG's
 * heap grows ~7 bytes per pixel, its RGBA copy is 4, the RGB image 3), and an isolate over the
 * limit is recycled with every request it was serving. So the pixel limit a request is held to is
 * the deployment's MAX_IMAGE_PIXELS or what the memory left beside the encoder allows, whichever is
 * lower; a refused image gets 422 image_too_large saying how large an image fits.
 */

/** The Workers isolate limit: 128 MB. */
export const ISOLATE_LIMIT_BYTES = 128 * 1000 * 1000;
/**
 * Memory the worker needs besides the encoder and the image: JS heap, label sets, the request,
 * buffers not yet collected. Measured live: ~12 MiB (bench engine row, workerd); the rest is headroom.
 */
export const WORKER_BASE_BYTES = 16 * 2 ** 20;
/**
 * Peak bytes per decoded pixel of a JPEG (most uploads): MozJPEG's heap (measured 6.9-7.0 at 3 and
 * 6 megapixels) + its RGBA copy (4) + the RGB image (3). WebP and AVIF decoders have their own heap
 * caps by pixel count (core/image/wasm-codec.ts).
 */
export const DECODE_BYTES_PER_PIXEL = 14;
/** Never below this (a 640x480 photo; CLIP sees 224x224): even the largest encoder takes an ordinary photo. */
export const MIN_IMAGE_PIXELS = 640 * 480;

/**
 * The most pixels an image may have next to an encoder holding `encoderWasmBytes` of WASM memory
 * (null when the encoder cannot report it: no cap from memory then).
 */
export function imagePixelBudget(encoderWasmBytes: number | null): number | null {
  if (encoderWasmBytes === null) return null;
  const free = ISOLATE_LIMIT_BYTES - encoderWasmBytes - WORKER_BASE_BYTES;
  return Math.max(MIN_IMAGE_PIXELS, Math.floor(free / DECODE_BYTES_PER_PIXEL));
}
