import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabelSetArtifact } from '../../src/core/labelset/artifact.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { addLabels, nearestWords } from '../../src/train/coop/context-tools.ts';
import { CustomClip } from '../../src/train/coop/custom-clip.ts';
import { PromptLearner } from '../../src/train/coop/prompt-learner.ts';
import { normal, rngFor } from '../../src/train/random.ts';
import { TextTower } from '../../src/train/text-tower.ts';

const ckpt = loadCheckpoint('artifacts/models/tiny-clip-cifar10');
let tower: TextTower;
beforeAll(async () => { tower = await TextTower.create(ckpt); });
afterAll(async () => { await tower.dispose(); });

async function coopArtifact(labels: string[], csc: boolean, ctxInit?: string): Promise<LabelSetArtifact> {
  const pl = new PromptLearner(labels, ckpt.tokenizer, tower, { nCtx: 4, csc, classTokenPosition: 'middle', ctxInit }, rngFor(1, 'x'));
  if (!ctxInit) for (let i = 0; i < pl.ctx.length; i++) pl.ctx[i] = 0.2 * normal(rngFor(2, i));
  const classEmbeddings = await new CustomClip(pl, tower, ckpt.logitScale).classEmbeddings();
  return {
    labels, modelId: ckpt.modelId, modelSha256: ckpt.visionSha256, logitScale: ckpt.logitScale, method: 'coop', metrics: {}, createdAt: 'now', version: 'v',
    classEmbeddings, dim: 128, ctx: { data: pl.ctx.slice(), shape: pl.ctxShape },
    extra: { n_ctx: String(pl.nCtx), csc: String(csc), class_token_position: 'middle', ctx_init: ctxInit ?? '' },
  };
}

describe('CoOp context tools', () => {
  it('add-labels embeds new classes exactly as if they had been there at training time', async () => {
    const a = await coopArtifact(['cat', 'dog'], false);
    const added = await addLabels(ckpt, tower, a, ['pickup_truck']);
    expect(added.labels).toEqual(['cat', 'dog', 'pickup_truck']);
    const full = await coopArtifact(['cat', 'dog', 'pickup_truck'], false);
    for (let i = 0; i < 3 * 128; i++) expect(Math.abs(added.classEmbeddings[i]! - full.classEmbeddings[i]!)).toBeLessThan(1e-5);
    expect(added.ctx!.data).toEqual(a.ctx!.data);
    expect(added.version).not.toBe(a.version);
    await expect(addLabels(ckpt, tower, a, ['dog'])).rejects.toThrow(/already in the label set/);
  });

  it('add-labels refuses class-specific contexts and non-CoOp label sets', async () => {
    const csc = await coopArtifact(['cat', 'dog'], true);
    await expect(addLabels(ckpt, tower, csc, ['ship'])).rejects.toThrow(/class-specific context/);
    await expect(addLabels(ckpt, tower, { ...csc, method: 'zeroshot', ctx: undefined } as LabelSetArtifact, ['ship'])).rejects.toThrow(/only CoOp label sets/);
  });

  it('nearest words of a context initialised from "a photo of a" are those words, at distance 0', async () => {
    const a = await coopArtifact(['cat', 'dog'], false, 'a photo of a');
    const near = nearestWords(ckpt, a, 2);
    const expected = ckpt.tokenizer.bpeIds('a photo of a').map((id) => ckpt.tokenizer.idToToken(id));
    expect(near.map((n) => n.words[0]!.token)).toEqual(expected);
    for (const n of near) {
      expect(n.words[0]!.distance).toBe(0);
      expect(n.words[1]!.distance).toBeGreaterThan(0);
    }
    const csc = nearestWords(ckpt, await coopArtifact(['cat', 'dog'], true, 'a photo of a'), 1);
    expect(csc.map((n) => n.vector)).toEqual(['cat ctx[0]', 'cat ctx[1]', 'cat ctx[2]', 'cat ctx[3]', 'dog ctx[0]', 'dog ctx[1]', 'dog ctx[2]', 'dog ctx[3]']);
  });
});
