/**
 * PromptLearner: CoOp's learnable prompt (KaiyangZhou/CoOp, trainers/coop.py).
 *
 * Each class prompt is the token embeddings of "X X ... X {classname}." with the n_ctx "X"
 * placeholders replaced by learned context vectors:
 *   end:    [SOS] ctx[0..n) class "." [EOS]
 *   middle: [SOS] ctx[0..n/2) class ctx[n/2..n) "." [EOS]
 *   front:  [SOS] class ctx[0..n) "." [EOS]
 * Unified context (one [n_ctx, width] matrix shared by all classes) or class-specific (--csc,
 * [classes, n_ctx, width]). Only positions up to EOS are kept: attention is causal, so padding
 * after EOS cannot change the text feature.
 */
import { InvalidArgumentError } from '../../core/errors.ts';
import type { ClipTokenizer } from '../../core/tokenizer/clip-tokenizer.ts';
import { normal, type Rng } from '../random.ts';

export type ClassTokenPosition = 'end' | 'middle' | 'front';

export interface PromptLearnerOptions {
  nCtx: number;
  /** e.g. "a photo of a": n_ctx becomes its token count, ctx starts from those words' embeddings. */
  ctxInit?: string | undefined;
  csc: boolean;
  classTokenPosition: ClassTokenPosition;
}

/** The token-embedding lookup the learner needs from the text tower. */
export interface TokenEmbedder {
  readonly width: number;
  tokenEmbeddings(ids: readonly number[]): Float32Array;
}

interface ClassPrompt {
  /** Token ids of "[SOS] <ctx placeholders> name . [EOS]" (no padding). */
  ids: number[];
  nameLen: number;
  /** Position in the prompt of each context vector k (0..n_ctx). */
  ctxPositions: number[];
  /** Fixed embeddings for every position (ctx positions are overwritten at assembly). */
  frozen: Float32Array;
}

export class PromptLearner {
  readonly nCtx: number;
  readonly width: number;
  readonly csc: boolean;
  readonly classTokenPosition: ClassTokenPosition;
  readonly ctxInit: string | undefined;
  /** [n_ctx, width] or [classes, n_ctx, width]. The trainable parameter. */
  ctx: Float32Array;
  private readonly prompts: ClassPrompt[];
  readonly seqLen: number;
  readonly eotIndex: number[];

  constructor(
    readonly classNames: readonly string[],
    tokenizer: ClipTokenizer,
    embedder: TokenEmbedder,
    opts: PromptLearnerOptions,
    rng: Rng,
    initialCtx?: Float32Array,
  ) {
    if (classNames.length < 1) throw new InvalidArgumentError('PromptLearner needs at least one class.');
    this.width = embedder.width;
    this.csc = opts.csc;
    this.classTokenPosition = opts.classTokenPosition;
    const init = opts.ctxInit?.replace(/_/g, ' ').trim();
    this.ctxInit = init || undefined;
    let initVectors: Float32Array | undefined;
    let prefixText: string;
    if (this.ctxInit) {
      const initIds = tokenizer.bpeIds(this.ctxInit);
      if (initIds.length === 0) throw new InvalidArgumentError('--ctx-init has no tokens.');
      this.nCtx = initIds.length;
      initVectors = embedder.tokenEmbeddings(initIds);
      prefixText = this.ctxInit;
    } else {
      if (!Number.isInteger(opts.nCtx) || opts.nCtx < 1) throw new InvalidArgumentError(`--n-ctx must be a positive integer, got ${opts.nCtx}.`);
      this.nCtx = opts.nCtx;
      prefixText = Array.from({ length: this.nCtx }, () => 'X').join(' ');
    }
    const W = this.width;
    const nC = classNames.length;
    const ctxSize = (this.csc ? nC : 1) * this.nCtx * W;
    if (initialCtx) {
      if (initialCtx.length !== ctxSize) throw new InvalidArgumentError(`stored context has ${initialCtx.length} values, expected ${ctxSize}.`);
      this.ctx = initialCtx.slice();
    } else if (initVectors) {
      // CSC with an init: every class starts from the same words (CoOp itself ignores --csc here).
      this.ctx = new Float32Array(ctxSize);
      for (let o = 0; o < ctxSize; o += initVectors.length) this.ctx.set(initVectors, o);
    } else {
      this.ctx = Float32Array.from({ length: ctxSize }, () => 0.02 * normal(rng));
    }

    this.prompts = classNames.map((raw) => {
      const name = raw.replace(/_/g, ' ');
      const nameLen = tokenizer.bpeIds(name).length;
      const body = tokenizer.bpeIds(`${prefixText} ${name}.`);
      if (body.length + 2 > tokenizer.contextLength) {
        throw new InvalidArgumentError(`class name "${raw}" is too long: with ${this.nCtx} context tokens its prompt needs ${body.length + 2} of the ${tokenizer.contextLength} tokens.`);
      }
      const ids = [tokenizer.sotId, ...body, tokenizer.eotId];
      // The placeholder prompt's tokens, reordered for the class position (CoOp's forward()).
      const pre = ids[0]!;
      const suffix = ids.slice(1 + this.nCtx); // class tokens, ".", EOS
      const cls = suffix.slice(0, nameLen);
      const rest = suffix.slice(nameLen);
      const half = Math.floor(this.nCtx / 2);
      const ctxIdx = (k: number) => -1 - k; // marker for context slot k
      let layout: number[];
      switch (this.classTokenPosition) {
        case 'end':
          layout = [pre, ...Array.from({ length: this.nCtx }, (_, k) => ctxIdx(k)), ...suffix];
          break;
        case 'middle':
          layout = [pre, ...Array.from({ length: half }, (_, k) => ctxIdx(k)), ...cls, ...Array.from({ length: this.nCtx - half }, (_, k) => ctxIdx(half + k)), ...rest];
          break;
        case 'front':
          layout = [pre, ...cls, ...Array.from({ length: this.nCtx }, (_, k) => ctxIdx(k)), ...rest];
          break;
      }
      const ctxPositions = new Array<number>(this.nCtx);
      const tokenIds = layout.map((t, pos) => {
        if (t < 0) { ctxPositions[-1 - t] = pos; return ids[1]!; /* placeholder embedding, overwritten */ }
        return t;
      });
      return { ids: tokenIds, nameLen, ctxPositions, frozen: embedder.tokenEmbeddings(tokenIds) };
    });
    this.eotIndex = this.prompts.map((p) => p.ids.lastIndexOf(tokenizer.eotId));
    this.seqLen = Math.max(...this.eotIndex) + 1;
    // Rows shorter than seqLen are padded with the EOS embedding (never attended to by EOS).
    const eotEmb = embedder.tokenEmbeddings([tokenizer.eotId]);
    this.prompts.forEach((p) => {
      if (p.ids.length < this.seqLen) {
        const padded = new Float32Array(this.seqLen * W);
        padded.set(p.frozen.subarray(0, p.ids.length * W));
        for (let s = p.ids.length; s < this.seqLen; s++) padded.set(eotEmb, s * W);
        p.frozen = padded;
      } else if (p.ids.length > this.seqLen) {
        p.frozen = p.frozen.slice(0, this.seqLen * W);
      }
    });
  }

  get numClasses(): number {
    return this.classNames.length;
  }

  /** Shape of the ctx parameter. */
  get ctxShape(): number[] {
    return this.csc ? [this.numClasses, this.nCtx, this.width] : [this.nCtx, this.width];
  }

  /** The prompt embeddings [classes, seqLen, width] for the current ctx. */
  assemble(ctx: Float32Array = this.ctx): Float32Array {
    const W = this.width;
    const L = this.seqLen;
    const out = new Float32Array(this.numClasses * L * W);
    this.prompts.forEach((p, c) => {
      out.set(p.frozen, c * L * W);
      const base = this.csc ? c * this.nCtx * W : 0;
      for (let k = 0; k < this.nCtx; k++) {
        out.set(ctx.subarray(base + k * W, base + (k + 1) * W), c * L * W + p.ctxPositions[k]! * W);
      }
    });
    return out;
  }

  /** d(loss)/d(ctx) from d(loss)/d(prompt embeddings) [classes, seqLen, width]. */
  ctxGradient(gradEmbeds: Float32Array): Float32Array {
    const W = this.width;
    const L = this.seqLen;
    const g = new Float32Array(this.ctx.length);
    this.prompts.forEach((p, c) => {
      const base = this.csc ? c * this.nCtx * W : 0;
      for (let k = 0; k < this.nCtx; k++) {
        const src = c * L * W + p.ctxPositions[k]! * W;
        const dst = base + k * W;
        for (let i = 0; i < W; i++) g[dst + i]! += gradEmbeds[src + i]!;
      }
    });
    return g;
  }

  /** Token ids of the placeholder prompt of class c (for tests and inspection). */
  promptIds(c: number): readonly number[] {
    return this.prompts[c]!.ids;
  }

  ctxPositionsOf(c: number): readonly number[] {
    return this.prompts[c]!.ctxPositions;
  }
}
