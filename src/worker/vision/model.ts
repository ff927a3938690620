/**
 * A deployable vision model: the image tower's ONNX bytes plus what is needed to feed it and to
 * check that label sets were built for it (embedding dim, sha256 of the ONNX file).
 */
export interface VisionModelSpec {
  /** Name reported in responses, e.g. "tiny-clip-cifar10". */
  readonly id: string;
  /** onnx/vision_model.onnx as bundled. */
  readonly onnx: ArrayBuffer;
  /** The checkpoint's preprocessor_config.json (CLIPImageProcessor). */
  readonly preprocessorConfig: unknown;
  /** Input side in pixels (vision_config.image_size). */
  readonly imageSize: number;
  /** Embedding dimension (projection_dim). */
  readonly dim: number;
}

/** Lower-case hex sha256 of the model file: label sets record it in `model_sha256`. */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
