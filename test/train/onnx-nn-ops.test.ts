import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, type FloatDType } from '../../src/train/onnx/graph-builder.ts';
import { activation, activationBackward, erf, layerNorm, layerNormBackward, type Activation } from '../../src/train/onnx/nn-ops.ts';

/** Builds a graph with float inputs of the given shapes and one output, runs it once. */
async function run(dtype: FloatDType, shapes: Record<string, number[]>, build: (g: GraphBuilder, inputs: Record<string, string>) => string, feeds: Record<string, number[]>): Promise<number[]> {
  const g = new GraphBuilder('t', { dtype });
  const inputs: Record<string, string> = {};
  for (const [name, shape] of Object.entries(shapes)) inputs[name] = g.input(name, dtype, shape);
  g.output(build(g, inputs), dtype);
  // 'basic': the extended fusions have float-only kernels (see text-tower.ts).
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'basic' });
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, values] of Object.entries(feeds)) {
    tensors[name] = new ort.Tensor(dtype, dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shapes[name]!);
  }
  const out = await session.run(tensors);
  await session.release();
  return Array.from(Object.values(out)[0]!.data as Float64Array);
}

// erf reference values (computed with libm's double-precision erf).
const ERF: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [0.1, 0.1124629160182849],
  [0.5, 0.5204998778130465],
  [1, 0.8427007929497149],
  [-1.5, -0.9661051464753108],
  [1.999, 0.9953015566513705],
  [2, 0.9953222650189527],
  [2.5, 0.999593047982555],
  [3, 0.9999779095030014],
  [-4, -0.9999999845827421],
  [6, 1],
  [30, 1],
];

describe('erf', () => {
  it('is accurate to ~1e-15 in float64 graphs (no double Erf kernel in onnxruntime)', async () => {
    const xs = ERF.map(([x]) => x);
    const got = await run('float64', { x: [xs.length] }, (g, i) => erf(g, i.x!), { x: xs });
    ERF.forEach(([, want], k) => expect(Math.abs(got[k]! - want)).toBeLessThan(2e-15));
  });

  it('uses the Erf op in float32 graphs', async () => {
    const xs = ERF.map(([x]) => x);
    const got = await run('float32', { x: [xs.length] }, (g, i) => erf(g, i.x!), { x: xs });
    ERF.forEach(([, want], k) => expect(Math.abs(got[k]! - want)).toBeLessThan(1e-6));
  });
});

/** Central finite differences of sum(dy * f(x)) in float64. */
async function fdCheck(shape: number[], xs: number[], dy: number[], forward: (g: GraphBuilder, x: string) => string, backward: (g: GraphBuilder, dy: string, x: string) => string): Promise<number> {
  const analytic = await run('float64', { x: shape, dy: shape }, (g, i) => backward(g, i.dy!, i.x!), { x: xs, dy });
  const h = 1e-6;
  const grads: number[] = [];
  for (let k = 0; k < xs.length; k++) {
    const plus = xs.slice();
    plus[k]! += h;
    const minus = xs.slice();
    minus[k]! -= h;
    const [fp, fm] = await Promise.all([plus, minus].map((v) => run('float64', { x: shape }, (g, i) => forward(g, i.x!), { x: v })));
    let s = 0;
    for (let j = 0; j < xs.length; j++) s += dy[j]! * (fp![j]! - fm![j]!);
    grads.push(s / (2 * h));
  }
  const scale = Math.max(...grads.map(Math.abs));
  return Math.max(...grads.map((v, k) => Math.abs(v - analytic[k]!))) / scale;
}

describe('hand-derived backward ops match finite differences (float64)', () => {
  const xs = [-3.1, -1.2, -0.4, 0, 0.3, 0.9, 1.7, 2.4, 4.2, -2.05, 2.05, 0.01];
  const dy = xs.map((_, k) => Math.cos(k * 1.3) + 0.2);

  for (const act of ['quick_gelu', 'gelu'] as Activation[]) {
    it(`${act}`, async () => {
      const rel = await fdCheck([xs.length], xs, dy, (g, x) => activation(g, act, x), (g, d, x) => activationBackward(g, act, d, x));
      expect(rel).toBeLessThan(1e-8);
    });
  }

  it('layerNorm', async () => {
    const eps = 1e-5;
    const gamma = [1.1, 0.7, -0.4, 1.9];
    const beta = [0.1, -0.2, 0.3, 0];
    const forward = (g: GraphBuilder, x: string) => layerNorm(g, x, g.floatConst(gamma), g.floatConst(beta), eps);
    const backward = (g: GraphBuilder, d: string, x: string) => layerNormBackward(g, d, x, g.floatConst(gamma), eps);
    const rel = await fdCheck([3, 4], xs, dy, forward, backward);
    expect(rel).toBeLessThan(1e-8);
  });
});
