/**
 * Everything that turns image bytes into an embedding, loaded once per isolate: the image encoder
 * (onnxruntime-web or the edge-vit engine), the image preprocessor and the JPEG decoder's WASM instance.
 */
import type { ClipImageProcessor } from '../../core/image/clip-image-processor.ts';
import { provideImageCodecs, type ImageCodecSources } from '../../core/image/decode.ts';
import { initJpegDecoder } from '../../core/image/jpeg-decoder.ts';
import type { RgbImage } from '../../core/image/rgb-image.ts';
import type { EdgeVitHost, EdgeVitSimd } from './edge-vit-host.ts';
import type { VisionEncoder } from './encoder.ts';
import { ImageEncoder } from './image-encoder.ts';
import type { VisionModelInfo, VisionModelSpec } from './model.ts';

/** RGB image -> the model's CHW float input ([3, S, S]). */
export interface ImagePreprocessor {
  preprocess(image: RgbImage): Float32Array;
}

export interface VisionRuntime {
  /** The model's description, without its bytes (a model read from R2 must not stay in memory twice). */
  readonly spec: VisionModelInfo;
  readonly encoder: VisionEncoder;
  readonly preprocessor: ImagePreprocessor;
}

export interface VisionRuntimeOptions {
  /** @jsquash/jpeg's mozjpeg_dec.wasm, compiled at deploy time. */
  readonly jpegDecoderWasm: WebAssembly.Module;
  /** The WebP and AVIF decoders' WASM, instantiated only when an image of that format arrives. */
  readonly imageCodecs?: ImageCodecSources;
  /** Builds the preprocessor from the model's preprocessor_config.json. */
  readonly createPreprocessor: (preprocessorConfig: unknown) => ClipImageProcessor;
  /** The edge-vit engine with its compiled modules, using the relaxed- or plain-SIMD build; absent: such models are refused (503). */
  readonly edgeVit?: (simd: EdgeVitSimd) => EdgeVitHost;
}

/** The runtime of a bundled model. */
export function loadVisionRuntime(spec: VisionModelSpec, options: VisionRuntimeOptions): Promise<VisionRuntime> {
  return createVisionRuntime(spec, () => ImageEncoder.create({ onnx: new Uint8Array(spec.onnx) }, { imageSize: spec.imageSize, dim: spec.dim }), options);
}

/**
 * The runtime of a model whose encoder `createEncoder` makes (from bytes, parts or a stream); the
 * runtime keeps no reference to the bytes, so the caller's copy can be collected once it exists.
 */
export async function createVisionRuntime(info: VisionModelInfo, createEncoder: () => Promise<VisionEncoder>, options: VisionRuntimeOptions): Promise<VisionRuntime> {
  const processor = options.createPreprocessor(info.preprocessorConfig);
  if (options.imageCodecs) provideImageCodecs(options.imageCodecs);
  const [encoder] = await Promise.all([createEncoder(), initJpegDecoder(options.jpegDecoderWasm)]);
  // An encoder that can preprocess in its own memory (edge-vit) does; the floats are the same.
  return { spec: info, encoder, preprocessor: encoder.preprocessorFor?.(processor) ?? processor };
}
