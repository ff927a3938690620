/**
 * The edge-vit WebAssembly kernels, each against a plain JS reference, in both builds (relaxed
 * SIMD and plain SIMD) and both GEMM register tiles; and the relaxed dot's two x64 lowerings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { growTo, instantiateKernels, type EdgeVitKernels } from '../../../src/core/engine/kernels.ts';
import { packWeights } from '../../../src/train/export/edge-vit.ts';
import { loadEdgeVitModules } from '../../../src/train/engine/edge-vit-node.ts';
import { engineModules } from './engine-modules.ts';
import { mulberry32 as rng } from '../../../src/core/random.ts';


const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** A bump allocator over a kernels instance's memory. */
class Arena {
  private next: number;
  constructor(readonly k: EdgeVitKernels) {
    this.next = roundUp(k.heapBase(), 64);
    growTo(k.memory, 64 << 20);
  }
  alloc(bytes: number): number {
    const at = this.next;
    this.next = roundUp(this.next + bytes, 64);
    return at;
  }
  f32(values: ArrayLike<number>): number {
    const p = this.alloc(values.length * 4);
    new Float32Array(this.k.memory.buffer, p, values.length).set(values);
    return p;
  }
  i32(values: ArrayLike<number>): number {
    const p = this.alloc(values.length * 4);
    new Int32Array(this.k.memory.buffer, p, values.length).set(values);
    return p;
  }
  u8(values: ArrayLike<number>): number {
    const p = this.alloc(values.length);
    new Uint8Array(this.k.memory.buffer, p, values.length).set(values);
    return p;
  }
  readF32(p: number, n: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, p, n).slice();
  }
  readI32(p: number, n: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, p, n).slice();
  }
  readU8(p: number, n: number): Uint8Array {
    return new Uint8Array(this.k.memory.buffer, p, n).slice();
  }
}

type Variant = { name: string; make: () => EdgeVitKernels };
let variants: Variant[] = [];

beforeAll(async () => {
  const m = await engineModules();
  variants = [
    { name: 'relaxed 4x16', make: () => instantiateKernels(m.relaxed, '4x16') },
    { name: 'relaxed 4x8', make: () => instantiateKernels(m.relaxed, '4x8') },
    { name: 'simd 4x16', make: () => instantiateKernels(m.simd, '4x16') },
    { name: 'simd 4x8', make: () => instantiateKernels(m.simd, '4x8') },
    { name: 'relaxed 6x8', make: () => instantiateKernels(m.relaxed, '6x8') },
    { name: 'simd 6x8', make: () => instantiateKernels(m.simd, '6x8') },
  ];
}, 180_000); // building the modules (a no-op under npm test, which builds first)

describe('module builds', () => {
  it('the relaxed build uses relaxed SIMD and the fallback does not', () => {
    const m = loadEdgeVitModules();
    expect(instantiateKernels(m.relaxed!).relaxed()).toBe(1);
    expect(instantiateKernels(m.simd).relaxed()).toBe(0);
  });
});

/** Reference: out[m][n] = rs[m] * ws[n] * (sum_k qa[m][k] * qw[n][k] - zp[m] * colsum[n]) + bias[n] (+ prior). */
function gemmRef(M: number, K: number, N: number, qa: Uint8Array, qw: Int8Array, rs: Float32Array, zp: Int32Array, ws: Float32Array, bias: Float32Array, prior?: Float32Array): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let colsum = 0;
      for (let k = 0; k < K; k++) {
        acc += qa[m * K + k]! * qw[n * K + k]!;
        colsum += qw[n * K + k]!;
      }
      out[m * N + n] = Math.fround(rs[m]! * ws[n]!) * (acc - zp[m]! * colsum) + bias[n]! + (prior ? prior[m * N + n]! : 0);
    }
  }
  return out;
}

describe('gemm (u7 activations x packed i8 weights)', () => {
  const cases: Array<{ M: number; K: number; N: number; extreme?: boolean; accumulate?: boolean }> = [
    { M: 1, K: 16, N: 16 },
    { M: 3, K: 20, N: 5 }, // K and N padded
    { M: 4, K: 64, N: 32 },
    { M: 5, K: 48, N: 33, accumulate: true },
    { M: 7, K: 100, N: 40 },
    { M: 50, K: 96, N: 48, accumulate: true },
    { M: 13, K: 32, N: 16 }, // 6-row tiles and a 1-row tail
    { M: 9, K: 3072, N: 16, extreme: true }, // all products at +-127*127: int32 range and no i16 saturation
    { M: 6, K: 32, N: 64, extreme: true },
  ];
  for (const c of cases) {
    it(`M=${c.M} K=${c.K} N=${c.N}${c.extreme ? ' at the extremes' : ''}${c.accumulate ? ', accumulating' : ''}: every build and tile equals the reference`, () => {
      const r = rng(c.M * 1000 + c.K * 10 + c.N);
      const kp = roundUp(c.K, 16);
      const np = roundUp(c.N, 16);
      const qa = new Uint8Array(c.M * c.K).map((_, i) => (c.extreme ? ((i >> 1) % 3 === 0 ? 0 : 127) : Math.floor(r() * 128)));
      const qw = new Int8Array(c.N * c.K).map((_, i) => (c.extreme ? ((i % 5 < 3) ? 127 : -127) : Math.floor(r() * 255) - 127));
      const rs = new Float32Array(c.M).map(() => 0.01 + r() * 0.05);
      const zp = new Int32Array(c.M).map((_, i) => (c.extreme ? (i % 2 ? 127 : 0) : Math.floor(r() * 128)));
      const ws = new Float32Array(c.N).map(() => 0.001 + r() * 0.01);
      const bias = new Float32Array(c.N).map(() => r() - 0.5);
      const prior = c.accumulate ? new Float32Array(c.M * c.N).map(() => r() * 2 - 1) : undefined;
      const colsum = new Int32Array(np);
      for (let n = 0; n < c.N; n++) for (let k = 0; k < c.K; k++) colsum[n]! += qw[n * c.K + k]!;
      const expected = gemmRef(c.M, c.K, c.N, qa, qw, rs, zp, ws, bias, prior);
      for (const v of variants) {
        const a = new Arena(v.make());
        const qaPad = new Uint8Array(c.M * kp);
        for (let m = 0; m < c.M; m++) qaPad.set(qa.subarray(m * c.K, (m + 1) * c.K), m * kp);
        const pad = (x: Float32Array, n: number) => { const o = new Float32Array(n); o.set(x); return o; };
        const outInit = new Float32Array(c.M * np);
        if (prior) for (let m = 0; m < c.M; m++) outInit.set(prior.subarray(m * c.N, (m + 1) * c.N), m * np);
        const out = a.f32(outInit);
        a.k.gemm(c.M, kp, np, a.u8(qaPad), kp, a.f32(rs), a.i32(zp), a.u8(new Uint8Array(packWeights(qw, c.N, c.K).buffer)), a.f32(pad(ws, np)), a.i32(colsum), a.f32(pad(bias, np)), out, np * 4, c.accumulate ? 1 : 0);
        const got = a.readF32(out, c.M * np);
        for (let m = 0; m < c.M; m++) {
          for (let n = 0; n < c.N; n++) {
            const e = expected[m * c.N + n]!;
            const g = got[m * np + n]!;
            if (Math.abs(g - e) > 1e-5 * Math.max(1, Math.abs(e))) throw new Error(`${v.name}: out[${m}][${n}] = ${g}, expected ${e}`);
          }
          for (let n = c.N; n < np; n++) expect(got[m * np + n], `${v.name}: padded column`).toBe(c.accumulate ? 0 : 0);
        }
      }
    });
  }
});

// ---- the relaxed dot's lowerings on x64 ----

/** vpdpbusd (AVX-VNNI / AVX512-VNNI): b unsigned x a signed, four products summed in 32 bits, no saturation. */
function dotVnni(a: Int8Array, b: Uint8Array, c: Int32Array): Int32Array {
  const out = new Int32Array(4);
  for (let j = 0; j < 4; j++) {
    let s = c[j]!;
    for (let t = 0; t < 4; t++) s += b[4 * j + t]! * a[4 * j + t]!;
    out[j] = s;
  }
  return out;
}

const sat16 = (x: number) => Math.max(-32768, Math.min(32767, x));

/** pmaddubsw (b unsigned x a signed, pairs summed with i16 saturation) + pmaddwd with ones + paddd. */
function dotPmaddubsw(a: Int8Array, b: Uint8Array, c: Int32Array): Int32Array {
  const out = new Int32Array(4);
  for (let j = 0; j < 4; j++) {
    const p0 = sat16(b[4 * j]! * a[4 * j]! + b[4 * j + 1]! * a[4 * j + 1]!);
    const p1 = sat16(b[4 * j + 2]! * a[4 * j + 2]! + b[4 * j + 3]! * a[4 * j + 3]!);
    out[j] = c[j]! + p0 + p1;
  }
  return out;
}

/** Arm's sdot: b taken as signed. */
function dotSigned(a: Int8Array, b: Uint8Array, c: Int32Array): Int32Array {
  const out = new Int32Array(4);
  for (let j = 0; j < 4; j++) {
    let s = c[j]!;
    for (let t = 0; t < 4; t++) s += ((b[4 * j + t]! << 24) >> 24) * a[4 * j + t]!;
    out[j] = s;
  }
  return out;
}

describe('i32x4.relaxed_dot_i8x16_i7x16_add_s: the two x64 lowerings', () => {
  const probe = (k: EdgeVitKernels, a: Int8Array, b: Uint8Array, c: Int32Array) => {
    const ar = new Arena(k);
    const out = ar.alloc(16);
    k.dotProbe(ar.u8(new Uint8Array(a.buffer)), ar.u8(b), ar.i32(c), out);
    return ar.readI32(out, 4);
  };
  // Crafted at the extremes of the engine's ranges: weights (a) in [-127, 127], activations (b) in [0, 127].
  const extremes: Array<[number[], number[]]> = [
    [Array(16).fill(127), Array(16).fill(127)],
    [Array(16).fill(-127), Array(16).fill(127)],
    [[127, 127, -127, -127, 127, -127, 127, -127, 0, 1, -1, 127, 64, -64, 127, 127], [127, 127, 127, 127, 0, 127, 1, 126, 127, 0, 127, 3, 127, 127, 0, 127]],
    [Array(16).fill(-127), Array(16).fill(0)],
  ];
  const c = new Int32Array([0, -5, 2 ** 30, -(2 ** 30)]);

  it('agree with each other and with the module (relaxed build) when b stays in [0, 127]', () => {
    const k = instantiateKernels(loadEdgeVitModules().relaxed!);
    for (const [av, bv] of extremes) {
      const a = new Int8Array(av);
      const b = new Uint8Array(bv);
      const vnni = dotVnni(a, b, c);
      expect(dotPmaddubsw(a, b, c)).toEqual(vnni);
      expect(probe(k, a, b, c)).toEqual(vnni);
    }
    // pmaddubsw's i16 pair sum peaks at 2 * 127 * 127, below 32767: it cannot saturate.
    expect(2 * 127 * 127).toBeLessThan(32767);
  });

  it('disagree when b has its top bit set (what the engine avoids), so the check above can fail', () => {
    const a = new Int8Array(16).fill(127);
    const b = new Uint8Array(16).fill(255);
    expect(dotVnni(a, b, c)).not.toEqual(dotPmaddubsw(a, b, c));
    // This host's lowering is one of them (or, on Arm, b taken as signed).
    const got = probe(instantiateKernels(loadEdgeVitModules().relaxed!), a, b, c);
    expect([dotVnni(a, b, c), dotPmaddubsw(a, b, c), dotSigned(a, b, c)].some((m) => m.every((x, i) => x === got[i]))).toBe(true);
  });

  it('the GEMM at the extremes gives the same result in both builds (relaxed dot vs exact i16 dot)', () => {
    const m = loadEdgeVitModules();
    const M = 4, K = 64, N = 16;
    const qa = new Uint8Array(M * K).fill(127);
    const qw = new Int8Array(N * K).map((_, i) => (i % 3 ? 127 : -127));
    const colsum = new Int32Array(N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) colsum[n]! += qw[n * K + k]!;
    const results = [m.relaxed!, m.simd].map((mod) => {
      const a = new Arena(instantiateKernels(mod));
      const out = a.alloc(M * N * 4);
      a.k.gemm(M, K, N, a.u8(qa), K, a.f32(new Float32Array(M).fill(1)), a.i32(new Int32Array(M)), a.u8(new Uint8Array(packWeights(qw, N, K).buffer)), a.f32(new Float32Array(N).fill(1)), a.i32(colsum), a.f32(new Float32Array(N)), out, N * 4, 0);
      return a.readF32(out, M * N);
    });
    expect(results[0]).toEqual(results[1]);
    expect(results[0]![0]).toBe(127 * (qw.subarray(0, K).reduce((s, x) => s + x, 0)));
  });
});

// ---- f32 kernels ----

function quantRef(x: Float32Array, k: number): { q: Uint8Array; scale: number; zp: number } {
  let lo = 0, hi = 0;
  for (let i = 0; i < k; i++) { lo = Math.min(lo, x[i]!); hi = Math.max(hi, x[i]!); }
  let scale = Math.fround((hi - lo) / 127);
  if (!(scale > 0)) scale = 1;
  const zp = Math.round(Math.fround(-lo / scale)) + 0; // not -0
  const inv = Math.fround(1 / scale);
  const q = new Uint8Array(k).map((_, i) => Math.max(0, Math.min(127, Math.round(Math.fround(x[i]! * inv)) + zp)));
  return { q, scale, zp };
}

describe('quantizeRows', () => {
  it('maps each row to [0, 127] with its own scale and zero point, 0 exact, padding set to the zero point', () => {
    const r = rng(7);
    const k = 37, kpad = 48, rows = 6, ldx = 40;
    const x = new Float32Array(rows * ldx).map(() => (r() - 0.3) * 10);
    for (let i = 0; i < k; i++) { x[ldx + i] = 0; x[2 * ldx + i] = -1 - r(); x[3 * ldx + i] = 2 + r(); }
    x[4 * ldx + 5] = 1e4; // an outlier
    for (const v of variants.slice(0, 3)) {
      const a = new Arena(v.make());
      const q = a.alloc(rows * kpad), sc = a.alloc(rows * 4), zp = a.alloc(rows * 4);
      a.k.quantizeRows(a.f32(x), ldx * 4, rows, k, kpad, q, kpad, sc, zp);
      const qs = a.readU8(q, rows * kpad), scales = a.readF32(sc, rows), zps = a.readI32(zp, rows);
      for (let m = 0; m < rows; m++) {
        const ref = quantRef(x.subarray(m * ldx), k);
        expect(Math.abs(scales[m]! - ref.scale)).toBeLessThanOrEqual(1e-6 * ref.scale);
        expect(zps[m]).toBe(ref.zp);
        for (let i = 0; i < k; i++) expect(Math.abs(qs[m * kpad + i]! - ref.q[i]!)).toBeLessThanOrEqual(1); // round-half ties may differ
        for (let i = k; i < kpad; i++) expect(qs[m * kpad + i]).toBe(ref.zp);
        for (let i = 0; i < k; i++) expect(Math.abs(scales[m]! * (qs[m * kpad + i]! - zps[m]!) - x[m * ldx + i]!)).toBeLessThanOrEqual(scales[m]! * 0.5001 + 1e-6);
        expect(Math.max(...qs.subarray(m * kpad, m * kpad + kpad))).toBeLessThanOrEqual(127);
      }
      expect(zps[1]).toBe(0); // all zeros
      expect(zps[2]).toBe(127); // all negative: 0 is the top
      expect(zps[3]).toBe(0); // all positive
    }
  });
});

describe('residualRows (two-pass activations)', () => {
  it('is what quantisation lost: x - scale * (q - zp), and quantising it again shrinks the error ~100x', () => {
    const r = rng(11);
    const rows = 2, k = 40, kpad = 48, ld = 48;
    const x = new Float32Array(rows * ld).map(() => r() * 6 - 2);
    const a = new Arena(variants[0]!.make());
    const xp = a.f32(x), q = a.alloc(rows * kpad), sc = a.alloc(8), zp = a.alloc(8), res = a.alloc(rows * ld * 4);
    a.k.quantizeRows(xp, ld * 4, rows, k, kpad, q, kpad, sc, zp);
    const qs = a.readU8(q, rows * kpad), scales = a.readF32(sc, rows), zps = a.readI32(zp, rows);
    a.k.residualRows(xp, ld * 4, rows, k, q, kpad, sc, zp, res, ld * 4);
    const got = a.readF32(res, rows * ld);
    let e1 = 0, e2 = 0;
    const q2 = a.alloc(rows * kpad), sc2 = a.alloc(8), zp2 = a.alloc(8);
    a.k.quantizeRows(res, ld * 4, rows, k, kpad, q2, kpad, sc2, zp2);
    const qs2 = a.readU8(q2, rows * kpad), s2 = a.readF32(sc2, rows), z2 = a.readI32(zp2, rows);
    for (let m = 0; m < rows; m++) {
      for (let i = 0; i < k; i++) {
        const first = scales[m]! * (qs[m * kpad + i]! - zps[m]!);
        expect(got[m * ld + i]).toBeCloseTo(x[m * ld + i]! - first, 6);
        e1 = Math.max(e1, Math.abs(x[m * ld + i]! - first));
        e2 = Math.max(e2, Math.abs(x[m * ld + i]! - first - s2[m]! * (qs2[m * kpad + i]! - z2[m]!)));
      }
    }
    expect(e2).toBeLessThan(e1 / 50);
  });
});

const pick = (name: string) => variants.find((v) => v.name === name)!;

// The relaxed build uses fused multiply-add and relaxed truncation here; the plain build does not.
for (const build of ['relaxed 4x16', 'simd 4x16']) describe(`layerNorm, activations, exp, attention, im2col (${build})`, () => {
  it('layerNorm matches the reference (odd width, in place and out of place)', () => {
    const r = rng(3);
    const n = 45, ld = 48, rows = 3;
    const x = new Float32Array(rows * ld).map(() => r() * 4 - 1);
    const g = new Float32Array(n).map(() => r() + 0.5), b = new Float32Array(n).map(() => r() - 0.5);
    const a = new Arena(pick(build).make());
    const xp = a.f32(x), out = a.alloc(rows * ld * 4);
    a.k.layerNorm(xp, ld * 4, rows, n, a.f32(g), a.f32(b), 1e-5, out, ld * 4);
    const got = a.readF32(out, rows * ld);
    for (let m = 0; m < rows; m++) {
      const row = Array.from(x.subarray(m * ld, m * ld + n));
      const mean = row.reduce((s, v) => s + v, 0) / n;
      const v = row.reduce((s, y) => s + (y - mean) ** 2, 0) / n;
      row.forEach((y, i) => expect(got[m * ld + i]).toBeCloseTo(((y - mean) / Math.sqrt(v + 1e-5)) * g[i]! + b[i]!, 5));
    }
    a.k.layerNorm(xp, ld * 4, rows, n, a.f32(g), a.f32(b), 1e-5, xp, ld * 4);
    expect(Array.from(a.readF32(xp, rows * ld)).filter((_, i) => i % ld < n)).toEqual(Array.from(got).filter((_, i) => i % ld < n));
  });

  it('exp, quick_gelu and gelu match Math within 2e-6 relative, including far tails', () => {
    const xs = new Float32Array(400).map((_, i) => (i - 200) / 8);
    xs.set([-100, -88, 89, 100, 0, -0, 1e-8, -1e-8], 0);
    const a = new Arena(pick(build).make());
    const out = a.alloc(xs.length * 4);
    a.k.expArray(a.f32(xs), out, xs.length);
    a.readF32(out, xs.length).forEach((y, i) => {
      const e = Math.exp(Math.max(Math.fround(-87.3365447504019), Math.min(Math.fround(88.3762626647949), xs[i]!))) // the kernel clamps to the f32 range;
      expect(Math.abs(y - e)).toBeLessThanOrEqual(2e-6 * e + 1e-38);
    });
    const erf = (z: number) => { // high-precision series / continued fraction reference
      const t = 1 / (1 + 0.5 * Math.abs(z));
      const y = 1 - t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
      return z >= 0 ? y : -y;
    };
    for (const [kind, f] of [[0, (x: number) => x / (1 + Math.exp(-1.702 * x))], [1, (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2))]] as const) {
      const p = a.f32(xs);
      a.k.activate(p, xs.length, kind);
      a.readF32(p, xs.length).forEach((y, i) => expect(Math.abs(y - f(xs[i]!))).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(xs[i]!))));
    }
  });

  it('attention matches a float64 reference (odd and even seq, not multiples of 4 or 16; head size not a multiple of 8), both builds', () => {
    for (const [seq, heads, d] of [[17, 3, 16], [50, 2, 64], [5, 2, 20], [8, 1, 12]] as const) {
      const r = rng(seq * heads + d);
      const W = heads * d, ldq = roundUp(3 * W, 16), ldo = roundUp(W, 16);
      const qkv = new Float32Array(roundUp(seq, 4) * ldq).map(() => r() * 2 - 1);
      const a = new Arena(pick(build).make());
      const out = a.alloc(seq * ldo * 4);
      a.k.attention(a.f32(qkv), ldq * 4, seq, heads, d, W, out, ldo * 4, a.alloc(d * roundUp(seq, 16) * 4), a.alloc(2 * roundUp(seq, 16) * 4));
      const got = a.readF32(out, seq * ldo);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < seq; i++) {
          const s = Array.from({ length: seq }, (_, j) => { let t = 0; for (let c = 0; c < d; c++) t += qkv[i * ldq + h * d + c]! * qkv[j * ldq + W + h * d + c]!; return t; });
          const mx = Math.max(...s);
          const e = s.map((v) => Math.exp(v - mx));
          const z = e.reduce((x, y) => x + y, 0);
          for (let c = 0; c < d; c++) {
            let o = 0;
            for (let j = 0; j < seq; j++) o += (e[j]! / z) * qkv[j * ldq + 2 * W + h * d + c]!;
            expect(Math.abs(got[i * ldo + h * d + c]! - o)).toBeLessThan(1e-5);
          }
        }
      }
    }
  });

  it('im2col orders each patch as the Conv weight [c, py, px]; addRows adds row-wise', () => {
    const C = 3, S = 12, P = 4, G = S / P, K = C * P * P, ld = 64;
    const px = new Float32Array(C * S * S).map((_, i) => i);
    const a = new Arena(pick(build).make());
    const out = a.alloc(G * G * ld * 4);
    a.k.im2col(a.f32(px), C, S, P, out, ld * 4);
    const got = a.readF32(out, G * G * ld);
    for (let gy = 0; gy < G; gy++) for (let gx = 0; gx < G; gx++) for (let c = 0; c < C; c++) for (let py = 0; py < P; py++) for (let pxx = 0; pxx < P; pxx++) {
      expect(got[(gy * G + gx) * ld + c * P * P + py * P + pxx]).toBe(px[(c * S + gy * P + py) * S + gx * P + pxx]);
    }
    expect(K).toBeLessThanOrEqual(ld);
    const dst = a.f32([1, 2, 3, 4, 5, 0, 10, 20, 30, 40, 50, 0]);
    a.k.addRows(dst, 6 * 4, a.f32([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]), 5 * 4, 2, 5);
    expect(Array.from(a.readF32(dst, 12))).toEqual([2, 3, 4, 5, 6, 0, 12, 22, 32, 42, 52, 0]);
  });
});
