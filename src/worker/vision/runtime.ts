/**
 * Everything that turns image bytes into an embedding, loaded once per isolate: the ORT session,
 * the image preprocessor and the JPEG decoder's WASM instance.
 */
import { provideImageCodecs, type ImageCodecSources } from '../../core/image/decode.ts';
import { initJpegDecoder } from '../../core/image/jpeg-decoder.ts';
import type { RgbImage } from '../../core/image/rgb-image.ts';
import { ImageEncoder, type PartedModelFiles } from './image-encoder.ts';
import type { VisionModelFiles, VisionModelInfo, VisionModelSpec } from './model.ts';

/** RGB image -> the model's CHW float input ([3, S, S]). */
export interface ImagePreprocessor {
  preprocess(image: RgbImage): Float32Array;
}

export interface VisionRuntime {
  /** The model's description, without its bytes (a model read from R2 must not stay in memory twice). */
  readonly spec: VisionModelInfo;
  readonly encoder: ImageEncoder;
  readonly preprocessor: ImagePreprocessor;
}

export interface VisionRuntimeOptions {
  /** @jsquash/jpeg's mozjpeg_dec.wasm, compiled at deploy time. */
  readonly jpegDecoderWasm: WebAssembly.Module;
  /** The WebP and AVIF decoders' WASM, instantiated only when an image of that format arrives. */
  readonly imageCodecs?: ImageCodecSources;
  /** Builds the preprocessor from the model's preprocessor_config.json. */
  readonly createPreprocessor: (preprocessorConfig: unknown) => ImagePreprocessor;
}

/** The runtime of a bundled model. */
export function loadVisionRuntime(spec: VisionModelSpec, options: VisionRuntimeOptions): Promise<VisionRuntime> {
  return createVisionRuntime(spec, { onnx: new Uint8Array(spec.onnx) }, options);
}

/**
 * The runtime of a model given as bytes, or as parts read one at a time; it keeps no reference to
 * the bytes, so the caller's copy can be collected once the session exists.
 */
export async function createVisionRuntime(info: VisionModelInfo, files: VisionModelFiles | PartedModelFiles, options: VisionRuntimeOptions): Promise<VisionRuntime> {
  const preprocessor = options.createPreprocessor(info.preprocessorConfig);
  if (options.imageCodecs) provideImageCodecs(options.imageCodecs);
  const [encoder] = await Promise.all([
    ImageEncoder.create(files, { imageSize: info.imageSize, dim: info.dim }),
    initJpegDecoder(options.jpegDecoderWasm),
  ]);
  return { spec: info, encoder, preprocessor };
}
