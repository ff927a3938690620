/**
 * ImageTower: the checkpoint's own onnx/vision_model.onnx (pixel_values -> image_embeds) run by
 * onnxruntime-node. The worker runs the very same file with onnxruntime-web, so both sides agree.
 */
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../core/image/decode.ts';
import { l2Normalize } from '../core/scoring.ts';
import type { ClipCheckpoint } from './checkpoint.ts';
import { createSession, type SessionConfig } from './ort-node.ts';

export class ImageTower {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly ckpt: ClipCheckpoint,
    readonly inputName: string,
    readonly outputName: string,
  ) {}

  static async create(ckpt: ClipCheckpoint, cfg: SessionConfig = {}): Promise<ImageTower> {
    const session = await createSession(ckpt.visionOnnxPath, cfg);
    const input = session.inputNames.includes('pixel_values') ? 'pixel_values' : session.inputNames[0]!;
    const output = session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0]!;
    return new ImageTower(session, ckpt, input, output);
  }

  get cropSize(): { height: number; width: number } {
    return this.ckpt.imageProcessor.cropSize;
  }

  /** pixels: [batch, 3, H, W] preprocessed. Returns [batch, dim] unnormalised embeddings. */
  async encodePixels(pixels: Float32Array, batch: number): Promise<Float32Array> {
    const { height, width } = this.cropSize;
    const feeds = { [this.inputName]: new ort.Tensor('float32', pixels, [batch, 3, height, width]) };
    const out = await this.session.run(feeds);
    return out[this.outputName]!.data as Float32Array;
  }

  /** Preprocesses and encodes decoded images; returns one L2-normalised embedding per image. */
  async embedImages(images: readonly RgbImage[], batchSize = 64): Promise<Float32Array[]> {
    const result: Float32Array[] = [];
    for (let i = 0; i < images.length; i += batchSize) {
      const chunk = images.slice(i, i + batchSize);
      const pixels = this.ckpt.imageProcessor.preprocessBatch(chunk);
      const emb = await this.encodePixels(pixels, chunk.length);
      const dim = emb.length / chunk.length;
      for (let j = 0; j < chunk.length; j++) result.push(l2Normalize(emb.subarray(j * dim, (j + 1) * dim)));
    }
    return result;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
