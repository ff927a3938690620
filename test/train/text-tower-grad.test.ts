import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, InvalidArgumentError } from '../../src/core/errors.ts';
import { TextTower, type TextTowerConfig, type WeightGetter } from '../../src/train/text-tower.ts';
import { randomTextTowerWeights } from '../../src/train/text-tower-random.ts';

const W = 16;
const P = 8;
const B = 3;
const L = 6;
const EOT = [5, 2, 4];

const configFor = (hiddenAct: 'quick_gelu' | 'gelu'): TextTowerConfig => ({
  width: W, layers: 2, heads: 2, intermediateSize: 32, vocabSize: 50, contextLength: 12, projectionDim: P, layerNormEps: 1e-5, hiddenAct, eotId: 49,
});

/** Deterministic values in [-1, 1). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  };
}

/** A plain float64 CLIP text transformer (HF CLIPTextModel + text_projection), the independent reference for the graphs. */
function referenceForward(c: TextTowerConfig, get: WeightGetter, embeds: Float64Array, batch: number, seq: number, eot: readonly number[]): Float64Array {
  const Wd = c.width;
  const d = Wd / c.heads;
  const pos = get('text_model.embeddings.position_embedding.weight');
  const linear = (x: Float64Array, rows: number, name: string, inDim: number, outDim: number, bias = true) => {
    const w = get(`${name}.weight`);
    const b = bias ? get(`${name}.bias`) : undefined;
    const y = new Float64Array(rows * outDim);
    for (let r = 0; r < rows; r++) for (let o = 0; o < outDim; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i]! * w[o * inDim + i]!;
      y[r * outDim + o] = s;
    }
    return y;
  };
  const layerNorm = (x: Float64Array, rows: number, name: string) => {
    const g = get(`${name}.weight`);
    const b = get(`${name}.bias`);
    const y = new Float64Array(x.length);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * Wd, (r + 1) * Wd);
      const mean = row.reduce((s, v) => s + v, 0) / Wd;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / Wd;
      for (let i = 0; i < Wd; i++) y[r * Wd + i] = ((row[i]! - mean) / Math.sqrt(variance + c.layerNormEps)) * g[i]! + b[i]!;
    }
    return y;
  };
  // erf: Maclaurin series for |x| < 3.5 (cancellation costs < 1e-12 there), the asymptotic erfc
  // series beyond (truncated at its smallest term, ~1e-12 absolute at 3.5).
  const erfRef = (x: number): number => {
    const a = Math.abs(x);
    if (a < 3.5) {
      let term = x;
      let sum = x;
      for (let n = 1; n < 200; n++) {
        term *= (-x * x) / n;
        sum += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    }
    let term = 1;
    let sum = 1;
    for (let n = 1; n < a * a; n++) {
      term *= -(2 * n - 1) / (2 * a * a);
      sum += term;
    }
    return Math.sign(x) * (1 - (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * sum);
  };
  const act = (u: number) => (c.hiddenAct === 'quick_gelu' ? u / (1 + Math.exp(-1.702 * u)) : 0.5 * u * (1 + erfRef(u / Math.SQRT2)));

  const rows = batch * seq;
  let x = new Float64Array(rows * Wd);
  for (let r = 0; r < rows; r++) for (let i = 0; i < Wd; i++) x[r * Wd + i] = embeds[r * Wd + i]! + pos[(r % seq) * Wd + i]!;
  for (let l = 0; l < c.layers; l++) {
    const p = `text_model.encoder.layers.${l}`;
    const h = layerNorm(x, rows, `${p}.layer_norm1`);
    const q = linear(h, rows, `${p}.self_attn.q_proj`, Wd, Wd);
    const k = linear(h, rows, `${p}.self_attn.k_proj`, Wd, Wd);
    const v = linear(h, rows, `${p}.self_attn.v_proj`, Wd, Wd);
    const o = new Float64Array(rows * Wd);
    for (let b = 0; b < batch; b++) for (let head = 0; head < c.heads; head++) for (let t = 0; t < seq; t++) {
      const scores: number[] = [];
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += q[(b * seq + t) * Wd + head * d + j]! * k[(b * seq + s) * Wd + head * d + j]!;
        scores.push(dot / Math.sqrt(d));
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const z = e.reduce((a, v2) => a + v2, 0);
      for (let s = 0; s <= t; s++) for (let j = 0; j < d; j++) o[(b * seq + t) * Wd + head * d + j]! += (e[s]! / z) * v[(b * seq + s) * Wd + head * d + j]!;
    }
    const attn = linear(o, rows, `${p}.self_attn.out_proj`, Wd, Wd);
    const mid = x.map((val, i) => val + attn[i]!);
    const u = linear(layerNorm(mid, rows, `${p}.layer_norm2`), rows, `${p}.mlp.fc1`, Wd, c.intermediateSize).map(act);
    const m = linear(u, rows, `${p}.mlp.fc2`, c.intermediateSize, Wd);
    x = mid.map((val, i) => val + m[i]!);
  }
  const pooled = new Float64Array(batch * Wd);
  for (let b = 0; b < batch; b++) pooled.set(x.subarray((b * seq + eot[b]!) * Wd, (b * seq + eot[b]! + 1) * Wd), b * Wd);
  return linear(layerNorm(pooled, batch, 'text_model.final_layer_norm'), batch, 'text_projection', Wd, c.projectionDim, false);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

for (const act of ['quick_gelu', 'gelu'] as const) {
  describe(`TextTower gradients (${act}, random W=${W}, 2 layers, 2 heads)`, () => {
    const config = configFor(act);
    const { get } = randomTextTowerWeights(config, act === 'gelu' ? 11 : 7);
    const rand = lcg(act === 'gelu' ? 5 : 3);
    const embeds = Float64Array.from({ length: B * L * W }, rand);
    const gradOut = Float64Array.from({ length: B * P }, rand);
    let t64: TextTower<Float64Array>;
    let t32: TextTower<Float32Array>;

    beforeAll(async () => {
      t64 = await TextTower.createFromWeights(config, get, { dtype: 'float64', intraOpThreads: 1 });
      t32 = await TextTower.createFromWeights(config, get, { dtype: 'float32', intraOpThreads: 1 });
    });
    afterAll(async () => {
      await t64?.dispose();
      await t32?.dispose();
    });

    it('float64 forward matches a plain reference implementation', async () => {
      const want = referenceForward(config, get, embeds, B, L, EOT);
      const got = await t64.encodeEmbeddings(embeds, B, L, EOT);
      expect(got).toBeInstanceOf(Float64Array);
      expect(maxAbs(want)).toBeGreaterThan(0.1);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-12);
      const { features } = await t64.forwardWithVjp(embeds, B, L, EOT);
      expect(maxAbsDiff(features, want)).toBeLessThan(1e-12);
    });

    it('float64 VJP matches central finite differences (eps 1e-6) to a relative error < 1e-6', async () => {
      const { vjp } = await t64.forwardWithVjp(embeds, B, L, EOT);
      const grad = await vjp(gradOut);
      expect(grad).toHaveLength(B * L * W);
      const loss = async (e: Float64Array) => dot(await t64.encodeEmbeddings(e, B, L, EOT), gradOut);
      const eps = 1e-6;
      const fd = new Float64Array(grad.length);
      for (let i = 0; i < embeds.length; i++) {
        const plus = embeds.slice();
        plus[i]! += eps;
        const minus = embeds.slice();
        minus[i]! -= eps;
        fd[i] = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
      }
      // Relative to the gradient's scale (entries after a row's end token are exactly 0 in both).
      expect(maxAbs(grad)).toBeGreaterThan(0.05);
      expect(maxAbsDiff(grad, fd) / maxAbs(fd)).toBeLessThan(1e-6);
      for (let b = 0; b < B; b++) for (let t = EOT[b]! + 1; t < L; t++) {
        expect(maxAbs(grad.subarray((b * L + t) * W, (b * L + t + 1) * W))).toBe(0);
      }
    });

    it('float32 forward and VJP agree with float64 within float32 rounding', async () => {
      const e32 = Float32Array.from(embeds);
      const f64 = await t64.forwardWithVjp(embeds, B, L, EOT);
      const f32 = await t32.forwardWithVjp(e32, B, L, EOT);
      const g64 = await f64.vjp(gradOut);
      const g32 = await f32.vjp(Float32Array.from(gradOut));
      expect(g32).toBeInstanceOf(Float32Array);
      // float32 carries ~6e-8 relative rounding per operation; through two layers (sums of at most
      // 32 terms, LayerNorm, softmax) that grows to ~1e-6 of the values' scale. 1e-5 leaves 10x room
      // and is still ~1000x tighter than any wiring error (which gives O(1) relative differences).
      expect(maxAbsDiff(f32.features, f64.features) / maxAbs(f64.features)).toBeLessThan(1e-5);
      expect(maxAbsDiff(g32, g64) / maxAbs(g64)).toBeLessThan(1e-5);
      // And a float32 finite difference along the (unit) gradient direction, where the directional
      // derivative is largest (|g|): a step of 1e-2 keeps float32 cancellation (~6e-8 * |loss| / 1e-2)
      // and the O(step^2) truncation error both well below 1e-3 of it. (Along a random direction the
      // derivative is ~|g|/sqrt(n) and float32 cancellation alone would be ~1% of it.)
      const norm = Math.sqrt(dot(g32, g32));
      const dir = g32.map((v) => v / norm);
      const h = 1e-2;
      const at = async (s: number) => dot(await t32.encodeEmbeddings(e32.map((v, i) => v + s * dir[i]!), B, L, EOT), gradOut);
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      expect(Math.abs(fd - dot(g32, dir)) / Math.abs(dot(g32, dir))).toBeLessThan(1e-3);
    });
  });
}

describe('TextTower VJP with padding and bad input', () => {
  const config = configFor('quick_gelu');
  const { get } = randomTextTowerWeights(config, 3);
  let tower: TextTower<Float64Array>;
  beforeAll(async () => {
    tower = await TextTower.createFromWeights(config, get, { dtype: 'float64', intraOpThreads: 1 });
  });
  afterAll(async () => tower?.dispose());

  it('returns [B, seqLen, W] for padded input: the truncated gradient, then zeros', async () => {
    const rand = lcg(17);
    const short = Float64Array.from({ length: B * L * W }, rand);
    const padLen = 10;
    const padded = new Float64Array(B * padLen * W);
    for (let b = 0; b < B; b++) {
      padded.set(short.subarray(b * L * W, (b + 1) * L * W), b * padLen * W);
      for (let i = L * W; i < padLen * W; i++) padded[b * padLen * W + i] = rand();
    }
    const eot = [5, 1, 3];
    const gradOut = Float64Array.from({ length: B * P }, rand);
    const a = await tower.forwardWithVjp(short, B, L, eot);
    const b = await tower.forwardWithVjp(padded, B, padLen, eot);
    expect(Array.from(b.features)).toEqual(Array.from(a.features));
    const ga = await a.vjp(gradOut);
    const gb = await b.vjp(gradOut);
    expect(gb).toHaveLength(B * padLen * W);
    for (let r = 0; r < B; r++) {
      expect(Array.from(gb.subarray(r * padLen * W, (r * padLen + L) * W))).toEqual(Array.from(ga.subarray(r * L * W, (r + 1) * L * W)));
      expect(maxAbs(gb.subarray((r * padLen + L) * W, (r + 1) * padLen * W))).toBe(0);
    }
    // vjp may be called again, with another upstream gradient (linearity).
    const twice = await b.vjp(gradOut.map((v) => 2 * v));
    expect(maxAbsDiff(twice, gb.map((v) => 2 * v))).toBeLessThan(1e-12);
  });

  it('handles a one-layer tower (its only layer is also the row-pruned last layer)', async () => {
    const one: TextTowerConfig = { ...config, layers: 1, hiddenAct: 'gelu' };
    const weights = randomTextTowerWeights(one, 21).get;
    const t = await TextTower.createFromWeights(one, weights, { dtype: 'float64', intraOpThreads: 1 });
    try {
      const rand = lcg(23);
      const e = Float64Array.from({ length: 2 * 4 * W }, rand);
      const eot = [3, 1];
      const up = Float64Array.from({ length: 2 * P }, rand);
      const { features, vjp } = await t.forwardWithVjp(e, 2, 4, eot);
      expect(maxAbsDiff(features, referenceForward(one, weights, e, 2, 4, eot))).toBeLessThan(1e-12);
      const grad = await vjp(up);
      const fd = new Float64Array(grad.length);
      for (let i = 0; i < e.length; i++) {
        const plus = e.slice();
        plus[i]! += 1e-6;
        const minus = e.slice();
        minus[i]! -= 1e-6;
        fd[i] = (dot(await t.encodeEmbeddings(plus, 2, 4, eot), up) - dot(await t.encodeEmbeddings(minus, 2, 4, eot), up)) / 2e-6;
      }
      expect(maxAbsDiff(grad, fd) / maxAbs(fd)).toBeLessThan(1e-6);
    } finally {
      await t.dispose();
    }
  });

  it('rejects a gradient of the wrong size and embeddings of the wrong float type', async () => {
    const { vjp } = await tower.forwardWithVjp(new Float64Array(B * L * W), B, L, EOT);
    await expect(vjp(new Float64Array(B * P + 1))).rejects.toThrow(InvalidArgumentError);
    await expect(tower.encodeEmbeddings(new Float32Array(B * L * W) as unknown as Float64Array, B, L, EOT)).rejects.toThrow(/Float64Array/);
  });

  it('rejects weights that do not fit the config, and configs that cannot work', async () => {
    await expect(TextTower.createFromWeights({ ...config, intermediateSize: 64 }, get, { dtype: 'float64' })).rejects.toThrow(CheckpointError);
    await expect(TextTower.createFromWeights({ ...config, heads: 3 }, get, { dtype: 'float64' })).rejects.toThrow(/divisible/);
    await expect(TextTower.createFromWeights({ ...config, eotId: 50 }, get, { dtype: 'float64' })).rejects.toThrow(InvalidArgumentError);
  });
});
