import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src/core/tokenizer/clip-tokenizer.ts';
import { PromptLearner, type ClassTokenPosition, type TokenEmbedder } from '../../src/train/coop/prompt-learner.ts';
import { rngFor } from '../../src/train/random.ts';

const dir = 'artifacts/models/tiny-clip-cifar10';
const tok = ClipTokenizer.fromHuggingFace(readFileSync(`${dir}/vocab.json`, 'utf8'), readFileSync(`${dir}/merges.txt`, 'utf8'));
const W = 3;
/** Embedding of token id t is [t, t + 0.5, -t]: positions in the assembled prompt reveal their token. */
const embedder: TokenEmbedder = {
  width: W,
  tokenEmbeddings: (ids) => Float32Array.from(ids.flatMap((t) => [t, t + 0.5, -t])),
};
const classes = ['cat', 'pickup_truck'];
const make = (pos: ClassTokenPosition, csc = false, nCtx = 4, ctxInit?: string) =>
  new PromptLearner(classes, tok, embedder, { nCtx, csc, classTokenPosition: pos, ctxInit }, rngFor(1, 'init'));

/** Reads the token id back from an assembled row (NaN for a context slot). */
function decodeRow(pl: PromptLearner, embeds: Float32Array, c: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < pl.seqLen; s++) {
    const v = embeds.subarray((c * pl.seqLen + s) * W, (c * pl.seqLen + s + 1) * W);
    out.push(v[1] === v[0]! + 0.5 && v[2] === -v[0]! ? v[0]! : Number.NaN);
  }
  return out;
}

describe('PromptLearner (CoOp prompt layout)', () => {
  const cat = tok.bpeIds('cat');
  const truck = tok.bpeIds('pickup truck');
  const dot = tok.bpeIds('.');
  const [sot, eot] = [tok.sotId, tok.eotId];

  it('end: [SOS] ctx x4 class . [EOS], padded with EOS', () => {
    const pl = make('end');
    const e = pl.assemble();
    const row0 = decodeRow(pl, e, 0);
    expect(row0.slice(0, 1)).toEqual([sot]);
    expect(row0.slice(1, 5).every(Number.isNaN)).toBe(true);
    expect(row0.slice(5, 5 + cat.length + 2)).toEqual([...cat, ...dot, eot]);
    expect(pl.eotIndex[0]).toBe(5 + cat.length + dot.length);
    expect(pl.eotIndex[1]).toBe(5 + truck.length + dot.length);
    expect(pl.seqLen).toBe(Math.max(...pl.eotIndex) + 1);
    expect(pl.ctxShape).toEqual([4, W]);
  });

  it('middle: first half of ctx, class, second half, then ". [EOS]"', () => {
    const pl = make('middle');
    const row = decodeRow(pl, pl.assemble(), 1);
    expect(row[0]).toBe(sot);
    expect(row.slice(1, 3).every(Number.isNaN)).toBe(true);
    expect(row.slice(3, 3 + truck.length)).toEqual(truck);
    expect(row.slice(3 + truck.length, 5 + truck.length).every(Number.isNaN)).toBe(true);
    expect(row.slice(5 + truck.length, 7 + truck.length)).toEqual([...dot, eot]);
    expect(pl.ctxPositionsOf(1)).toEqual([1, 2, 3 + truck.length, 4 + truck.length]);
  });

  it('front: class, ctx, ". [EOS]"', () => {
    const pl = make('front');
    const row = decodeRow(pl, pl.assemble(), 0);
    expect(row.slice(0, 1 + cat.length)).toEqual([sot, ...cat]);
    expect(row.slice(1 + cat.length, 5 + cat.length).every(Number.isNaN)).toBe(true);
    expect(row.slice(5 + cat.length, 7 + cat.length)).toEqual([...dot, eot]);
  });

  it('places the actual context values and sums their gradients (unified) or keeps them apart (CSC)', () => {
    for (const csc of [false, true]) {
      const pl = make('middle', csc);
      const e = pl.assemble();
      const base = csc ? 1 * pl.nCtx * W : 0;
      const pos = pl.ctxPositionsOf(1)[3]!;
      expect(Array.from(e.subarray((1 * pl.seqLen + pos) * W, (1 * pl.seqLen + pos + 1) * W))).toEqual(Array.from(pl.ctx.subarray(base + 3 * W, base + 4 * W)));
      const g = new Float32Array(e.length).fill(1);
      const gc = pl.ctxGradient(g);
      expect(gc.length).toBe(pl.ctx.length);
      expect(gc.every((v) => v === (csc ? 1 : 2))).toBe(true);
    }
  });

  it('ctx init: n_ctx = token count of the words, context starts from their embeddings', () => {
    const pl = make('end', false, 16, 'a photo of a');
    const ids = tok.bpeIds('a photo of a');
    expect(pl.nCtx).toBe(ids.length);
    expect(Array.from(pl.ctx)).toEqual(Array.from(embedder.tokenEmbeddings(ids)));
    // the assembled prompt is then exactly the embedding of "a photo of a cat."
    const row = decodeRow(pl, pl.assemble(), 0);
    expect(row.slice(0, pl.eotIndex[0]! + 1)).toEqual(tok.encode('a photo of a cat.'));
  });

  it('random init is N(0, 0.02^2) and deterministic per seed', () => {
    const a = make('end', false, 16);
    const b = make('end', false, 16);
    expect(a.ctx).toEqual(b.ctx);
    const std = Math.sqrt(a.ctx.reduce((s, v) => s + v * v, 0) / a.ctx.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
  });
});
