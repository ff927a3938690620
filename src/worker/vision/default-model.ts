/** The model bundled into the Worker (artifacts/models/tiny-clip-cifar10, see its README) and how to run it. */
import jpegDecoderWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import avifDecoderWasm from '@jsquash/avif/codec/dec/avif_dec.wasm';
import webpDecoderWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import visionOnnx from '../../../artifacts/models/tiny-clip-cifar10/onnx/vision_model.onnx';
import preprocessorConfig from '../../../artifacts/models/tiny-clip-cifar10/preprocessor_config.json';
import config from '../../../artifacts/models/tiny-clip-cifar10/config.json';
import { ClipImageProcessor } from '../../core/image/clip-image-processor.ts';
import type { VisionModelSpec } from './model.ts';
import type { VisionRuntimeOptions } from './runtime.ts';

export const DEFAULT_MODEL: VisionModelSpec = {
  id: 'tiny-clip-cifar10',
  onnx: visionOnnx,
  preprocessorConfig,
  imageSize: config.vision_config.image_size,
  dim: config.projection_dim,
};

export const DEFAULT_RUNTIME_OPTIONS: VisionRuntimeOptions = {
  jpegDecoderWasm,
  imageCodecs: { webp: webpDecoderWasm, avif: avifDecoderWasm },
  createPreprocessor: (json) => ClipImageProcessor.fromConfig(json),
};
