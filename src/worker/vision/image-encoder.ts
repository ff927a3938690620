/**
 * The CLIP image tower (onnx/vision_model.onnx: pixel_values [B,3,S,S] -> image_embeds [B,dim],
 * not normalised) running in onnxruntime-web. One session per isolate, or, for a model stored in
 * parts, one session per part run as a chain (each hands its single output to the next). Runs are
 * serialised because onnxruntime-web does not support concurrent run() calls on one session.
 */
import { l2Normalize } from '../../core/scoring.ts';
import type { VisionEncoder, VisionEncoderStatus } from './encoder.ts';
import type { VisionModelFiles } from './model.ts';
import { createOrtSession, ort, ortWasmMemoryBytes } from './ort-wasm.ts';

/** One session of the chain and the tensors it reads and hands on. */
interface Stage {
  readonly session: ort.InferenceSession;
  readonly input: string;
  readonly output: string;
}

/** A model in consecutive parts, read one at a time: `read(k)` is called only after part k-1's session exists. */
export interface PartedModelFiles {
  readonly parts: number;
  read(part: number): Promise<VisionModelFiles>;
}

export class ImageEncoder implements VisionEncoder {
  readonly engine = 'onnxruntime' as const;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly stages: readonly Stage[],
    /** Side of the square input image, e.g. 32. */
    readonly imageSize: number,
    /** Embedding dimension, e.g. 128. */
    readonly dim: number,
  ) {}

  get status(): VisionEncoderStatus {
    return { engine: this.engine, relaxedSimd: null, wasmMemoryBytes: ortWasmMemoryBytes() };
  }

  /** Number of ONNX sessions (1, or the number of parts). */
  get sessions(): number {
    return this.stages.length;
  }

  static async create(model: VisionModelFiles | PartedModelFiles, shape: { imageSize: number; dim: number }): Promise<ImageEncoder> {
    if (!('parts' in model)) return new ImageEncoder([await createStage(model, true)], shape.imageSize, shape.dim);
    const stages: Stage[] = [];
    try {
      // Strictly one part at a time: its bytes go out of scope before the next part is read, so JS
      // never holds more than one part while onnxruntime copies weights into WASM memory.
      for (let k = 0; k < model.parts; k++) stages.push(await createStage(await model.read(k), k === model.parts - 1));
    } catch (err) {
      // A part that cannot be read or loaded fails the whole model; the sessions already created
      // would otherwise stay in WASM memory, once more on every retry of the load.
      await Promise.allSettled(stages.map((s) => s.session.release()));
      throw err;
    }
    return new ImageEncoder(stages, shape.imageSize, shape.dim);
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
    let x: ort.Tensor = new ort.Tensor('float32', pixels, [batch, 3, this.imageSize, this.imageSize]);
    for (const [k, stage] of this.stages.entries()) {
      const results = await stage.session.run({ [stage.input]: x });
      // The previous part's output (not the caller's pixels) is ours to free.
      if (k > 0) x.dispose();
      const output = results[stage.output];
      for (const [name, t] of Object.entries(results)) if (name !== stage.output) t.dispose();
      if (output === undefined) throw new Error(`vision model part ${k} produced no "${stage.output}"`);
      x = output;
    }
    try {
      if (x.type !== 'float32' || x.data.length !== batch * this.dim) {
        throw new Error(`vision model output is ${x.type} [${x.dims.join(',')}], expected float32 [${batch},${this.dim}]`);
      }
      return new Float32Array(x.data as Float32Array);
    } finally {
      x.dispose();
    }
  }
}

/** A session and its input/output names; the last stage prefers `image_embeds` among several outputs. */
async function createStage(files: VisionModelFiles, last: boolean): Promise<Stage> {
  const session = await createOrtSession(files.onnx, files.externalData);
  const input = session.inputNames[0];
  const output = last && session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0];
  if (input === undefined || output === undefined) throw new Error('vision model has no input or no output');
  return { session, input, output };
}
