/** What the worker needs of an image encoder, whichever engine runs it (onnxruntime-web or edge-vit). */
import type { ClipImageProcessor } from '../../core/image/clip-image-processor.ts';
import type { RgbImage } from '../../core/image/rgb-image.ts';
import type { VisionEngineName } from '../../core/model-files.ts';

/** Reported by /healthz once the model is loaded: what runs it and its WASM memory, measured inside the isolate. */
export interface VisionEncoderStatus {
  readonly engine: VisionEngineName;
  /** edge-vit: true when the relaxed-SIMD module runs, false for the plain-SIMD one; null for onnxruntime-web (plain SIMD). */
  readonly relaxedSimd: boolean | null;
  /** The encoder's WASM linear memory (`memory.buffer.byteLength`), null when it cannot be seen. */
  readonly wasmMemoryBytes: number | null;
}

export interface VisionEncoder {
  readonly engine: VisionEngineName;
  /** Side of the square input image, e.g. 224. */
  readonly imageSize: number;
  /** Embedding dimension, e.g. 512. */
  readonly dim: number;
  readonly status: VisionEncoderStatus;
  /** Raw image embeddings, [batch, dim] row-major, for CHW float pixels [batch, 3, S, S]. */
  encode(pixels: Float32Array, batch?: number): Promise<Float32Array>;
  /** Optional: `processor`'s preprocessing run by the encoder itself (same output, faster, into its own input buffer). */
  preprocessorFor?(processor: ClipImageProcessor): { preprocess(image: RgbImage): Float32Array };
}
