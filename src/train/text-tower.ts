/**
 * TextTower: the frozen CLIP text transformer, from prompt token embeddings to text features,
 * run by onnxruntime-node from graphs the project builds out of model.safetensors
 * (clip/text-tower-graph.ts), with a hand-derived vector-Jacobian product for CoOp training
 * (the same file: each block's backward beside its forward).
 *
 * Attention is causal and pooling happens at the end token, so tokens after a row's end token
 * cannot change its features: every entry point runs only the first max(eot)+1 positions.
 */
import * as ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { InvalidArgumentError } from '../core/errors.ts';
import type { ClipCheckpoint } from './checkpoint.ts';
import type { FloatDType } from './onnx/graph-builder.ts';
import { createSession, sessionOptions, type Device } from './ort-node.ts';
import { textTowerConfig, validateTextTowerConfig, type TextTowerConfig } from './clip/config.ts';
import { IO, TextTowerParams, buildBackwardGraph, buildForwardGraph, savedActivationNames } from './clip/text-tower-graph.ts';
import { TEXT_WEIGHTS } from './clip/weight-names.ts';
import type { FloatArray, WeightGetter } from './clip/weights.ts';

export type { TextTowerConfig } from './clip/config.ts';
export type { WeightGetter } from './clip/weights.ts';

export interface TextTowerOptions {
  device?: Device;
  intraOpThreads?: number;
}

export interface TextTowerWeightsOptions<D extends FloatDType> extends TextTowerOptions {
  /** The float type of the graphs and of every array in and out (float64: for gradient checks). */
  dtype: D;
}

export type FloatArrayOf<D extends FloatDType> = D extends 'float64' ? Float64Array : Float32Array;

/** Prompts per onnxruntime run in encodeIds. */
const ENCODE_BATCH = 64;

export class TextTower<T extends FloatArray = Float32Array> {
  readonly width: number;
  readonly projectionDim: number;
  readonly contextLength: number;
  readonly config: TextTowerConfig;
  readonly dtype: FloatDType;
  private readonly params: TextTowerParams;
  private readonly tokenTable: T;
  private readonly options: TextTowerOptions;
  private readonly forward: ort.InferenceSession;
  private readonly savedNames: readonly string[];
  private backward: Promise<ort.InferenceSession> | undefined;
  private disposed = false;

  private constructor(params: TextTowerParams, forward: ort.InferenceSession, options: TextTowerOptions) {
    this.params = params;
    this.config = params.config;
    this.dtype = params.dtype;
    this.width = params.config.width;
    this.projectionDim = params.config.projectionDim;
    this.contextLength = params.config.contextLength;
    this.forward = forward;
    this.options = options;
    this.savedNames = savedActivationNames(params.config);
    this.tokenTable = params.weight(TEXT_WEIGHTS.tokenEmbedding, params.config.vocabSize * params.config.width) as T;
  }

  /** The text tower of a Hugging Face CLIP checkpoint, in float32. */
  static async create(ckpt: ClipCheckpoint, opts: TextTowerOptions = {}): Promise<TextTower> {
    return TextTower.createFromWeights(textTowerConfig(ckpt.config, ckpt.tokenizer.eotId), (name) => ckpt.weight(name), { ...opts, dtype: 'float32' });
  }

  /** A tower from any weights with HF CLIPModel names (tests build tiny random ones, in float64 for gradient checks). */
  static async createFromWeights<D extends FloatDType>(config: TextTowerConfig, weights: WeightGetter, opts: TextTowerWeightsOptions<D>): Promise<TextTower<FloatArrayOf<D>>> {
    validateTextTowerConfig(config);
    const params = new TextTowerParams(config, weights, opts.dtype);
    const options = { device: opts.device, intraOpThreads: opts.intraOpThreads };
    const session = await openSession(buildForwardGraph(params), opts.dtype, options);
    return new TextTower<FloatArrayOf<D>>(params, session, options);
  }

  /** token_embedding rows for ids, [ids.length, width]. */
  tokenEmbeddings(ids: readonly number[]): T {
    const W = this.width;
    const out = this.params.alloc(ids.length * W) as T;
    ids.forEach((id, r) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new InvalidArgumentError(`token id ${id} is outside the vocabulary (0..${this.config.vocabSize - 1}).`);
      }
      out.set(this.tokenTable.subarray(id * W, (id + 1) * W), r * W);
    });
    return out;
  }

  /** Full forward from prompt embeddings: embeds [B, L, W] row-major, eotIndex per row (< L). Returns [B, P] unnormalised. */
  async encodeEmbeddings(embeds: T, batch: number, seqLen: number, eotIndex: readonly number[]): Promise<T> {
    const run = this.prepare(embeds, batch, seqLen, eotIndex);
    const out = await this.forward.run(run.feeds, [IO.features]);
    return tensorData(out[IO.features], this.dtype) as T;
  }

  /** Forward + VJP: returns features [B,P] (unnormalised) and a function computing dL/dembeds [B,L,W] for an upstream gradient dL/dfeatures [B,P]. */
  async forwardWithVjp(embeds: T, batch: number, seqLen: number, eotIndex: readonly number[]): Promise<{ features: T; vjp(gradFeatures: T): Promise<T> }> {
    const run = this.prepare(embeds, batch, seqLen, eotIndex);
    const backwardSession = this.backwardSession();
    const out = await this.forward.run(run.feeds, [IO.features, ...this.savedNames]);
    const features = tensorData(out[IO.features], this.dtype) as T;
    const savedFeeds: Record<string, ort.Tensor> = { [IO.eotIndex]: run.feeds[IO.eotIndex]! };
    for (const name of this.savedNames) savedFeeds[name] = out[name]!;
    const P = this.projectionDim;
    const W = this.width;
    const vjp = async (gradFeatures: T): Promise<T> => {
      if (gradFeatures.length !== batch * P) throw new InvalidArgumentError(`gradFeatures has ${gradFeatures.length} values; expected batch ${batch} x ${P}.`);
      const session = await backwardSession;
      const res = await session.run({ ...savedFeeds, [IO.gradFeatures]: new Tensor(this.dtype, gradFeatures, [batch, P]) }, [IO.gradEmbeds]);
      const grad = tensorData(res[IO.gradEmbeds], this.dtype) as T;
      if (run.seqLen === seqLen) return grad;
      // Positions after the last end token do not reach any output: their gradient is zero.
      const full = this.params.alloc(batch * seqLen * W) as T;
      for (let b = 0; b < batch; b++) full.set(grad.subarray(b * run.seqLen * W, (b + 1) * run.seqLen * W), b * seqLen * W);
      return full;
    };
    return { features, vjp };
  }

  /** Convenience: ids (each starting with sot and containing eot) -> L2-normalised features [B, P]. Batches internally. */
  async encodeIds(ids: readonly (readonly number[])[]): Promise<T[]> {
    const eots = ids.map((row, r) => {
      const e = row.indexOf(this.config.eotId);
      if (e < 0) throw new InvalidArgumentError(`prompt ${r} has no end-of-text token (${this.config.eotId}); encode it with the checkpoint's tokenizer.`);
      if (e >= this.contextLength) throw new InvalidArgumentError(`prompt ${r} has its end token at position ${e}, beyond the ${this.contextLength}-token context.`);
      return e;
    });
    // Similar lengths together, so each batch runs a short sequence.
    const order = ids.map((_, r) => r).sort((a, b) => eots[a]! - eots[b]!);
    const results: T[] = new Array<T>(ids.length);
    const W = this.width;
    const P = this.projectionDim;
    for (let start = 0; start < order.length; start += ENCODE_BATCH) {
      const chunk = order.slice(start, start + ENCODE_BATCH);
      const L = Math.max(...chunk.map((r) => eots[r]!)) + 1;
      const embeds = this.params.alloc(chunk.length * L * W) as T;
      chunk.forEach((r, b) => {
        const row = ids[r]!;
        const padded = Array.from({ length: L }, (_, t) => (t < row.length ? row[t]! : this.config.eotId));
        embeds.set(this.tokenEmbeddings(padded), b * L * W);
      });
      const feats = await this.encodeEmbeddings(embeds, chunk.length, L, chunk.map((r) => eots[r]!));
      chunk.forEach((r, b) => {
        const f = feats.slice(b * P, (b + 1) * P) as T;
        let norm = 0;
        for (let i = 0; i < P; i++) norm += f[i]! * f[i]!;
        norm = Math.sqrt(norm);
        for (let i = 0; i < P; i++) f[i] = f[i]! / norm;
        results[r] = f;
      });
    }
    return results;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.forward.release();
    if (this.backward) await (await this.backward).release();
  }

  /** Built on first use: inference-only callers never pay for the backward graph. */
  private backwardSession(): Promise<ort.InferenceSession> {
    if (!this.backward) {
      this.backward = openSession(buildBackwardGraph(this.params), this.dtype, this.options);
      // A failure surfaces when vjp awaits it; do not also report it as unhandled.
      this.backward.catch(() => undefined);
    }
    return this.backward;
  }

  /** Validates a forward request and truncates it after the last end token. */
  private prepare(embeds: T, batch: number, seqLen: number, eotIndex: readonly number[]): { feeds: Record<string, ort.Tensor>; seqLen: number } {
    if (this.disposed) throw new InvalidArgumentError('this TextTower was disposed.');
    const W = this.width;
    if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError(`batch must be a positive integer, got ${batch}.`);
    if (!Number.isInteger(seqLen) || seqLen < 1) throw new InvalidArgumentError(`seqLen must be a positive integer, got ${seqLen}.`);
    if (embeds.length !== batch * seqLen * W) {
      throw new InvalidArgumentError(`embeds has ${embeds.length} values; expected batch ${batch} x seqLen ${seqLen} x width ${W} = ${batch * seqLen * W}.`);
    }
    if (this.dtype === 'float64' ? !(embeds instanceof Float64Array) : !(embeds instanceof Float32Array)) {
      throw new InvalidArgumentError(`embeds must be a ${this.dtype === 'float64' ? 'Float64Array' : 'Float32Array'} for this ${this.dtype} tower.`);
    }
    if (eotIndex.length !== batch) throw new InvalidArgumentError(`eotIndex has ${eotIndex.length} entries for a batch of ${batch}.`);
    let maxEot = 0;
    for (const e of eotIndex) {
      if (!Number.isInteger(e) || e < 0 || e >= seqLen) throw new InvalidArgumentError(`end-token index ${e} is outside 0..${seqLen - 1}.`);
      maxEot = Math.max(maxEot, e);
    }
    const L = maxEot + 1;
    if (L > this.contextLength) throw new InvalidArgumentError(`end-token index ${maxEot} is beyond the ${this.contextLength}-token context.`);
    let input = embeds;
    if (L < seqLen) {
      input = this.params.alloc(batch * L * W) as T;
      for (let b = 0; b < batch; b++) input.set(embeds.subarray(b * seqLen * W, (b * seqLen + L) * W), b * L * W);
    }
    return {
      seqLen: L,
      feeds: {
        [IO.embeds]: new Tensor(this.dtype, input, [batch, L, W]),
        [IO.eotIndex]: new Tensor('int64', BigInt64Array.from(eotIndex, (e) => BigInt(e)), [batch]),
      },
    };
  }
}

/**
 * float32 graphs get onnxruntime's full optimisation. float64 graphs (gradient checks) stop at
 * 'basic': the extended fusions (e.g. QuickGelu) have float-only kernels and would fail to load.
 */
async function openSession(model: Uint8Array, dtype: FloatDType, options: TextTowerOptions): Promise<ort.InferenceSession> {
  if (dtype === 'float32') return createSession(model, options);
  if ((options.device ?? 'cpu') !== 'cpu') throw new InvalidArgumentError('float64 text towers run on the CPU only (they exist for gradient checks).');
  return ort.InferenceSession.create(model, { ...sessionOptions(options), graphOptimizationLevel: 'basic' });
}

function tensorData(t: ort.Tensor | undefined, dtype: FloatDType): FloatArray {
  if (!t) throw new Error('onnxruntime returned no output');
  const data = t.data;
  if (dtype === 'float64' ? data instanceof Float64Array : data instanceof Float32Array) return data as FloatArray;
  throw new Error(`onnxruntime returned ${t.type}, expected ${dtype}`);
}
