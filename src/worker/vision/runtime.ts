/**
 * Everything that turns image bytes into an embedding, loaded once per isolate: the ORT session,
 * the image preprocessor and the JPEG decoder's WASM instance.
 */
import { initJpegDecoder } from '../../core/image/jpeg-decoder.ts';
import type { RgbImage } from '../../core/image/rgb-image.ts';
import { ImageEncoder } from './image-encoder.ts';
import type { VisionModelSpec } from './model.ts';

/** RGB image -> the model's CHW float input ([3, S, S]). */
export interface ImagePreprocessor {
  preprocess(image: RgbImage): Float32Array;
}

export interface VisionRuntime {
  readonly spec: VisionModelSpec;
  readonly encoder: ImageEncoder;
  readonly preprocessor: ImagePreprocessor;
}

export interface VisionRuntimeOptions {
  /** @jsquash/jpeg's mozjpeg_dec.wasm, compiled at deploy time. */
  readonly jpegDecoderWasm: WebAssembly.Module;
  /** Builds the preprocessor from the model's preprocessor_config.json. */
  readonly createPreprocessor: (preprocessorConfig: unknown) => ImagePreprocessor;
}

export async function loadVisionRuntime(spec: VisionModelSpec, options: VisionRuntimeOptions): Promise<VisionRuntime> {
  const preprocessor = options.createPreprocessor(spec.preprocessorConfig);
  const [encoder] = await Promise.all([
    ImageEncoder.create(new Uint8Array(spec.onnx), { imageSize: spec.imageSize, dim: spec.dim }),
    initJpegDecoder(options.jpegDecoderWasm),
  ]);
  return { spec, encoder, preprocessor };
}
