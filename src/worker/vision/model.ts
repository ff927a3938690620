/**
 * A deployable vision model: the image tower's ONNX bytes plus what is needed to feed it and to
 * check that label sets were built for it (embedding dim, sha256 of the ONNX file).
 */

/** What runs a model, without its bytes (a loaded runtime keeps only this). */
export interface VisionModelInfo {
  /** Name reported in responses, e.g. "tiny-clip-cifar10". */
  readonly id: string;
  /** The checkpoint's preprocessor_config.json (CLIPImageProcessor). */
  readonly preprocessorConfig: unknown;
  /** Input side in pixels (vision_config.image_size). */
  readonly imageSize: number;
  /** Embedding dimension (projection_dim). */
  readonly dim: number;
}

/** A model bundled into the Worker: its bytes are a module, referenced for the isolate's life anyway. */
export interface VisionModelSpec extends VisionModelInfo {
  /** onnx/vision_model.onnx as bundled. */
  readonly onnx: ArrayBuffer;
}

/** The bytes a session is created from; dropped by the caller once the session exists. */
export interface VisionModelFiles {
  readonly onnx: Uint8Array;
  /** The weights of a model exported with ONNX external data; `path` is the file name the graph refers to. */
  readonly externalData?: { readonly path: string; readonly data: Uint8Array };
}
