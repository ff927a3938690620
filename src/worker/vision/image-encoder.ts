/**
 * The CLIP image tower (onnx/vision_model.onnx: pixel_values [B,3,S,S] -> image_embeds [B,dim],
 * not normalised) running in onnxruntime-web. One session per isolate; runs are serialised
 * because onnxruntime-web does not support concurrent run() calls on one session.
 */
import { l2Normalize } from '../../core/scoring.ts';
import { createOrtSession, ort } from './ort-wasm.ts';

export class ImageEncoder {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    /** Side of the square input image, e.g. 32. */
    readonly imageSize: number,
    /** Embedding dimension, e.g. 128. */
    readonly dim: number,
  ) {}

  static async create(model: Uint8Array, shape: { imageSize: number; dim: number }, externalData?: { path: string; data: Uint8Array }): Promise<ImageEncoder> {
    const session = await createOrtSession(model, externalData);
    const inputName = session.inputNames[0];
    const outputName = session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0];
    if (inputName === undefined || outputName === undefined) throw new Error('vision model has no input or no output');
    return new ImageEncoder(session, inputName, outputName, shape.imageSize, shape.dim);
  }

  /** Raw image embeddings, [batch, dim] row-major, for CHW float pixels [batch, 3, S, S]. */
  encode(pixels: Float32Array, batch = 1): Promise<Float32Array> {
    const expected = batch * 3 * this.imageSize * this.imageSize;
    if (pixels.length !== expected) {
      return Promise.reject(new RangeError(`pixel tensor has ${pixels.length} values, expected ${expected} ([${batch},3,${this.imageSize},${this.imageSize}])`));
    }
    const run = this.queue.then(() => this.runOnce(pixels, batch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** L2-normalised embeddings, the form compared against class embeddings. */
  async encodeNormalized(pixels: Float32Array, batch = 1): Promise<Float32Array> {
    return l2Normalize(await this.encode(pixels, batch), this.dim);
  }

  private async runOnce(pixels: Float32Array, batch: number): Promise<Float32Array> {
    const input = new ort.Tensor('float32', pixels, [batch, 3, this.imageSize, this.imageSize]);
    const results = await this.session.run({ [this.inputName]: input });
    const output = results[this.outputName];
    if (output === undefined) throw new Error(`vision model produced no "${this.outputName}"`);
    try {
      if (output.type !== 'float32' || output.data.length !== batch * this.dim) {
        throw new Error(`vision model output is ${output.type} [${output.dims.join(',')}], expected float32 [${batch},${this.dim}]`);
      }
      return new Float32Array(output.data as Float32Array);
    } finally {
      output.dispose();
    }
  }
}
