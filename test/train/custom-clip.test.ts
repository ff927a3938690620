import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { CustomClip } from '../../src/train/coop/custom-clip.ts';
import { PromptLearner } from '../../src/train/coop/prompt-learner.ts';
import { normal, rngFor } from '../../src/train/random.ts';
import { l2Normalize } from '../../src/core/scoring.ts';
import { TextTower } from '../../src/train/text-tower.ts';

// End-to-end gradient check of the CoOp loss w.r.t. the context on the real default model:
// PromptLearner -> TextTower VJP -> L2 norm -> scaled cosine logits -> cross-entropy.
describe('CustomClip loss gradient', () => {
  it('matches central finite differences on the default model (float32), for every option combination', async () => {
    const ckpt = loadCheckpoint('artifacts/models/tiny-clip-cifar10');
    const tower = await TextTower.create(ckpt);
    try {
      const classes = ['cat', 'dog', 'pickup_truck'];
      const rng = rngFor(3, 'test');
      // Every option combination: class position x unified/CSC x random init / "a photo of a" init.
      const combos = (['end', 'middle', 'front'] as const).flatMap((pos) => [false, true].flatMap((csc) => [undefined, 'a photo of a'].map((ctxInit) => ({ pos, csc, ctxInit }))));
      expect(combos).toHaveLength(12);
      for (const { pos, csc, ctxInit } of combos) {
        const pl = new PromptLearner(classes, ckpt.tokenizer, tower, { nCtx: 3, csc, classTokenPosition: pos, ctxInit }, rngFor(1, pos));
        // A larger context than the 0.02 init so that the loss is well away from flat.
        for (let i = 0; i < pl.ctx.length; i++) pl.ctx[i] = 0.3 * normal(rng);
        const model = new CustomClip(pl, tower, ckpt.logitScale);
        const D = tower.projectionDim;
        const images = l2Normalize(Float32Array.from({ length: 5 * D }, () => normal(rng)), D);
        const labels = [0, 1, 2, 1, 0];
        const { gradCtx, loss } = await model.lossAndGrad(images, labels);
        expect(Number.isFinite(loss)).toBe(true);
        const lossAt = async (ctx: Float32Array) => {
          const saved = pl.ctx;
          pl.ctx = ctx;
          const r = await model.lossAndGrad(images, labels);
          pl.ctx = saved;
          return r.loss;
        };
        // Check the directional derivative along a random direction (float32: eps 1e-2 on a
        // smooth loss keeps truncation error ~eps^2 and rounding error ~1e-7/eps well below 1%).
        const dir = Float32Array.from({ length: pl.ctx.length }, () => normal(rng));
        const eps = 1e-2;
        const plus = pl.ctx.map((v, i) => v + eps * dir[i]!);
        const minus = pl.ctx.map((v, i) => v - eps * dir[i]!);
        const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
        const analytic = gradCtx.reduce((s, g, i) => s + g * dir[i]!, 0);
        expect(Math.abs(numeric - analytic), `${pos} csc=${csc} init=${ctxInit}`).toBeLessThan(0.02 * Math.abs(analytic) + 1e-4);
      }
    } finally {
      await tower.dispose();
    }
  });

  it('KgCoOp: the knowledge-guided term adds weight * (1 - mean cos) and its gradient matches finite differences', async () => {
    const ckpt = loadCheckpoint('artifacts/models/tiny-clip-cifar10');
    const tower = await TextTower.create(ckpt);
    try {
      const classes = ['cat', 'dog', 'ship'];
      const rng = rngFor(4, 'kg');
      const pl = new PromptLearner(classes, ckpt.tokenizer, tower, { nCtx: 4, csc: false, classTokenPosition: 'end', ctxInit: 'a photo of a' }, rngFor(1, 'kg'));
      for (let i = 0; i < pl.ctx.length; i++) pl.ctx[i]! += 0.2 * normal(rng);
      const D = tower.projectionDim;
      const anchor = l2Normalize(Float32Array.from({ length: 3 * D }, () => normal(rng)), D);
      const plain = new CustomClip(pl, tower, ckpt.logitScale);
      const kg = new CustomClip(pl, tower, ckpt.logitScale, { embeddings: anchor, weight: 8 });
      const images = l2Normalize(Float32Array.from({ length: 4 * D }, () => normal(rng)), D);
      const labels = [0, 1, 2, 0];
      const t = await plain.classEmbeddings();
      let cos = 0;
      for (let i = 0; i < 3 * D; i++) cos += t[i]! * anchor[i]!;
      const r0 = await plain.lossAndGrad(images, labels);
      const r1 = await kg.lossAndGrad(images, labels);
      expect(r1.loss - r0.loss).toBeCloseTo(8 * (1 - cos / 3), 4);
      const lossAt = async (ctx: Float32Array) => {
        const saved = pl.ctx;
        pl.ctx = ctx;
        const r = await kg.lossAndGrad(images, labels);
        pl.ctx = saved;
        return r.loss;
      };
      const dir = Float32Array.from({ length: pl.ctx.length }, () => normal(rng));
      const eps = 1e-2;
      const numeric = ((await lossAt(pl.ctx.map((v, i) => v + eps * dir[i]!))) - (await lossAt(pl.ctx.map((v, i) => v - eps * dir[i]!)))) / (2 * eps);
      const analytic = r1.gradCtx.reduce((s, g, i) => s + g * dir[i]!, 0);
      expect(Math.abs(numeric - analytic)).toBeLessThan(0.02 * Math.abs(analytic) + 1e-4);
    } finally {
      await tower.dispose();
    }
  });
});
