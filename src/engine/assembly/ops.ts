// The f32 parts of the transformer: per-row activation quantisation, LayerNorm, activations,
// attention, patch extraction. Pointers are byte addresses into the module's memory; row strides
// are in bytes. Widths of rows handed to the SIMD loops need not be multiples of 4: tails are scalar.

// ---- helpers: single-instruction forms where NaN and overflow semantics cannot matter ----

/** min/max without NaN propagation (one minps/maxps; the strict f32x4.min/max take ~6 instructions on x64). */
// @ts-ignore: decorator
@inline function fmin(a: v128, b: v128): v128 { return f32x4.pmin(a, b); }
// @ts-ignore: decorator
@inline function fmax(a: v128, b: v128): v128 { return f32x4.pmax(a, b); }

/** f32 -> i32 for values already known to be in range (one cvttps2dq with relaxed SIMD). */
// @ts-ignore: decorator
@inline function toInt(a: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_trunc_f32x4_s(a);
  return i32x4.trunc_sat_f32x4_s(a);
}

/** a * b + c (fused where the relaxed build allows; either rounding is fine here). */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// ---- exp, the building block of softmax, quick_gelu and erf ----

/** e^x for 4 lanes: x = n ln2 + r, |r| <= ln2 / 2, degree-6 polynomial, 2^n put in the exponent bits (~1e-7 relative). */
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  x = fmax(fmin(x, f32x4.splat(88.3762626647949)), f32x4.splat(-87.3365447504019));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.0 / 720.0);
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(toInt(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2);
}

/** Exposed for the tests: out[i] = exp(x[i]) for count values (count a multiple of 4). */
export function expArray(x: usize, out: usize, count: i32): void {
  for (let i = 0; i < count; i += 4) v128.store(out + <usize>(i * 4), exp4(v128.load(x + <usize>(i * 4))));
}

// @ts-ignore: decorator
@inline function quickGelu4(x: v128): v128 {
  // x * sigmoid(1.702 x) = x / (1 + e^(-1.702 x))
  return f32x4.div(x, f32x4.add(f32x4.splat(1.0), exp4(f32x4.mul(x, f32x4.splat(-1.702)))));
}

// @ts-ignore: decorator
@inline function gelu4(x: v128): v128 {
  // 0.5 x (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7).
  const z = f32x4.mul(x, f32x4.splat(0.7071067811865476));
  const az = f32x4.abs(z);
  const t = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), f32x4.mul(az, f32x4.splat(0.3275911))));
  let p = f32x4.splat(1.061405429);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.453152027));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.421413741));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.284496736));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.254829592));
  p = f32x4.mul(p, t);
  const e = f32x4.sub(f32x4.splat(1.0), f32x4.mul(p, exp4(f32x4.neg(f32x4.mul(az, az)))));
  // sign(z) * e: copy z's sign bit onto e (e >= 0).
  const erf = v128.or(e, v128.and(z, i32x4.splat(0x80000000)));
  return f32x4.mul(f32x4.mul(x, f32x4.splat(0.5)), f32x4.add(f32x4.splat(1.0), erf));
}

/** In place over `count` floats (a multiple of 4): kind 0 quick_gelu, 1 gelu (erf). */
export function activate(x: usize, count: i32, kind: i32): void {
  const end = x + <usize>count * 4;
  if (kind == 0) {
    for (let p = x; p < end; p += 16) v128.store(p, quickGelu4(v128.load(p)));
  } else {
    for (let p = x; p < end; p += 16) v128.store(p, gelu4(v128.load(p)));
  }
}

// ---- activation quantisation ----

/**
 * Each row of x (k floats) to 7-bit unsigned q in [0, 127] with its own scale and zero point:
 * x ~ scale * (q - zp). The range always includes 0, so zp is an integer in [0, 127] and 0 is
 * exact. Columns k..kpad of q are set to zp (their weights are 0).
 */
export function quantizeRows(x: usize, ldx: i32, rows: i32, k: i32, kpad: i32, q: usize, ldq: i32, scales: usize, zps: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * ldx);
    const qrow = q + <usize>(r * ldq);
    let vmin = f32x4.splat(0), vmax = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= k; i += 4) {
      const v = v128.load(row + <usize>(i * 4));
      vmin = fmin(vmin, v);
      vmax = fmax(vmax, v);
    }
    let lo = min(min(f32x4.extract_lane(vmin, 0), f32x4.extract_lane(vmin, 1)), min(f32x4.extract_lane(vmin, 2), f32x4.extract_lane(vmin, 3)));
    let hi = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
    for (let j = i; j < k; j++) {
      const v = load<f32>(row + <usize>(j * 4));
      lo = min(lo, v);
      hi = max(hi, v);
    }
    let scale: f32 = (hi - lo) / 127.0;
    if (!(scale > 0)) scale = 1; // an all-zero row
    const zp = <i32>nearest(-lo / scale); // in [0, 127]
    store<f32>(scales + <usize>(r * 4), scale);
    store<i32>(zps + <usize>(r * 4), zp);
    const inv = f32x4.splat(1.0 / scale);
    const vz = f32x4.splat(<f32>zp);
    const v0 = f32x4.splat(0), v127 = f32x4.splat(127);
    i = 0;
    // round(x / scale) + zp, clamped to [0, 127] in float (exact: small integers), then converted
    for (; i + 16 <= k; i += 16) {
      const p = row + <usize>(i * 4);
      const q0 = toInt(fmin(fmax(f32x4.add(f32x4.nearest(f32x4.mul(v128.load(p), inv)), vz), v0), v127));
      const q1 = toInt(fmin(fmax(f32x4.add(f32x4.nearest(f32x4.mul(v128.load(p, 16), inv)), vz), v0), v127));
      const q2 = toInt(fmin(fmax(f32x4.add(f32x4.nearest(f32x4.mul(v128.load(p, 32), inv)), vz), v0), v127));
      const q3 = toInt(fmin(fmax(f32x4.add(f32x4.nearest(f32x4.mul(v128.load(p, 48), inv)), vz), v0), v127));
      v128.store(qrow + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    const invs: f32 = 1.0 / scale;
    for (; i < k; i++) {
      const v = <i32>nearest(load<f32>(row + <usize>(i * 4)) * invs) + zp;
      store<u8>(qrow + <usize>i, <u8>(v < 0 ? 0 : v > 127 ? 127 : v));
    }
    for (; i < kpad; i++) store<u8>(qrow + <usize>i, <u8>zp);
  }
}

/**
 * out[r] = x[r] - scale[r] * (q[r] - zp[r]): what quantizeRows lost. Quantised again and run
 * through the same GEMM (accumulating), it makes the activations ~14-bit for a layer where that
 * matters and costs little (the final projection: one row).
 */
export function residualRows(x: usize, ldx: i32, rows: i32, k: i32, q: usize, ldq: i32, scales: usize, zps: usize, out: usize, ldo: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<f32>(scales + <usize>(r * 4));
    const zp = <f32>load<i32>(zps + <usize>(r * 4));
    const row = x + <usize>(r * ldx), qrow = q + <usize>(r * ldq), orow = out + <usize>(r * ldo);
    for (let i = 0; i < k; i++) {
      store<f32>(orow + <usize>(i * 4), load<f32>(row + <usize>(i * 4)) - s * (<f32>load<u8>(qrow + <usize>i) - zp));
    }
  }
}

// ---- LayerNorm ----

/** out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta over n columns (two passes: mean, then variance). */
export function layerNorm(x: usize, ldx: i32, rows: i32, n: i32, gamma: usize, beta: usize, eps: f32, out: usize, ldo: i32): void {
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * ldx);
    const orow = out + <usize>(r * ldo);
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) acc = f32x4.add(acc, v128.load(row + <usize>(i * 4)));
    let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (let i = n4; i < n; i++) sum += load<f32>(row + <usize>(i * 4));
    const mean: f32 = sum / <f32>n;
    const vm = f32x4.splat(mean);
    acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const d = f32x4.sub(v128.load(row + <usize>(i * 4)), vm);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let ss = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    for (let i = n4; i < n; i++) {
      const d = load<f32>(row + <usize>(i * 4)) - mean;
      ss += d * d;
    }
    const inv: f32 = 1.0 / Mathf.sqrt(ss / <f32>n + eps);
    const vi = f32x4.splat(inv);
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>(i * 4);
      const y = f32x4.mul(f32x4.sub(v128.load(row + o), vm), vi);
      v128.store(orow + o, f32x4.add(f32x4.mul(y, v128.load(gamma + o)), v128.load(beta + o)));
    }
    for (let i = n4; i < n; i++) {
      const o = <usize>(i * 4);
      store<f32>(orow + o, (load<f32>(row + o) - mean) * inv * load<f32>(gamma + o) + load<f32>(beta + o));
    }
  }
}

// ---- attention ----

/** Softmax in place over probs[0..seq); returns 1 / sum (applied by the caller to P V). */
// @ts-ignore: decorator
@inline function softmaxRow(probs: usize, seq: i32): f32 {
  let mx = load<f32>(probs);
  for (let j = 1; j < seq; j++) mx = max(mx, load<f32>(probs + <usize>(j * 4)));
  const vmx = f32x4.splat(mx);
  let vs = f32x4.splat(0);
  const seq4 = seq & ~3;
  for (let j = 0; j < seq4; j += 4) {
    const e = exp4(f32x4.sub(v128.load(probs + <usize>(j * 4)), vmx));
    v128.store(probs + <usize>(j * 4), e);
    vs = f32x4.add(vs, e);
  }
  let sum = f32x4.extract_lane(vs, 0) + f32x4.extract_lane(vs, 1) + f32x4.extract_lane(vs, 2) + f32x4.extract_lane(vs, 3);
  if (seq4 < seq) {
    // the last partial group: exp of 4 lanes (the buffer is padded), keep only the real ones
    const e = exp4(f32x4.sub(v128.load(probs + <usize>(seq4 * 4)), vmx));
    v128.store(probs + <usize>(seq4 * 4), e);
    for (let j = seq4; j < seq; j++) sum += load<f32>(probs + <usize>(j * 4));
  }
  return 1.0 / sum;
}

/**
 * Multi-head self-attention, not causal, on the fused projections: row t of qkv holds
 * [q (width) | k (width) | v (width)], q already scaled by head_dim^-0.5 (folded into the weights).
 * out[t, h*d .. h*d+d) = softmax_j(q_t . k_j) v_j. f32 throughout (a small share of the MACs).
 * Two queries at a time, so that each key and value vector loaded serves both.
 * Scratch: kt (d * roundup(seq, 16) floats: one head's keys transposed) and probs (2 * roundup(seq, 16)).
 */
export function attention(qkv: usize, ldqkv: i32, seq: i32, heads: i32, d: i32, width: i32, out: usize, ldo: i32, kt: usize, probs: usize): void {
  const sp = (seq + 15) & ~15; // key columns in kt, zero beyond seq
  const ld = <usize>ldqkv;
  const probs1 = probs + <usize>(sp * 4);
  const step = <usize>(sp * 4);
  for (let h = 0; h < heads; h++) {
    const qOff = <usize>(h * d * 4), kOff = <usize>((width + h * d) * 4), vOff = <usize>((2 * width + h * d) * 4);
    // K^T for this head, so that 4 keys' scores come out of one f32x4 without horizontal sums.
    for (let t = 0; t < d; t++) {
      const dst = kt + <usize>(t * sp * 4);
      for (let j = 0; j < seq; j++) store<f32>(dst + <usize>(j * 4), load<f32>(qkv + <usize>j * ld + kOff + <usize>(t * 4)));
      for (let j = seq; j < sp; j++) store<f32>(dst + <usize>(j * 4), 0);
    }
    for (let i = 0; i < seq; i += 2) {
      const pair = i + 1 < seq;
      const q0 = qkv + <usize>i * ld + qOff;
      const q1 = pair ? q0 + ld : q0; // an odd last query is computed twice
      for (let j0 = 0; j0 < sp; j0 += 16) {
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let u0 = f32x4.splat(0), u1 = f32x4.splat(0), u2 = f32x4.splat(0), u3 = f32x4.splat(0);
        let kp = kt + <usize>(j0 * 4);
        for (let t = 0; t < d; t++) {
          const a = v128.load32_splat(q0 + <usize>(t * 4));
          const b = v128.load32_splat(q1 + <usize>(t * 4));
          let kv = v128.load(kp);
          s0 = madd(a, kv, s0); u0 = madd(b, kv, u0);
          kv = v128.load(kp, 16);
          s1 = madd(a, kv, s1); u1 = madd(b, kv, u1);
          kv = v128.load(kp, 32);
          s2 = madd(a, kv, s2); u2 = madd(b, kv, u2);
          kv = v128.load(kp, 48);
          s3 = madd(a, kv, s3); u3 = madd(b, kv, u3);
          kp += step;
        }
        const pp = probs + <usize>(j0 * 4);
        v128.store(pp, s0); v128.store(pp, s1, 16); v128.store(pp, s2, 32); v128.store(pp, s3, 48);
        const pq = probs1 + <usize>(j0 * 4);
        v128.store(pq, u0); v128.store(pq, u1, 16); v128.store(pq, u2, 32); v128.store(pq, u3, 48);
      }
      const inv0 = f32x4.splat(softmaxRow(probs, seq));
      const inv1 = f32x4.splat(softmaxRow(probs1, seq));
      // out = sum_j p_j v_j, 8 output columns of both queries at a time in registers
      const o0 = out + <usize>(i * ldo) + qOff;
      const o1 = pair ? o0 + <usize>ldo : o0;
      let t = 0;
      for (; t + 8 <= d; t += 8) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
        let vp = qkv + vOff + <usize>(t * 4);
        for (let j = 0; j < seq; j++) {
          const p = v128.load32_splat(probs + <usize>(j * 4));
          const r = v128.load32_splat(probs1 + <usize>(j * 4));
          let vv = v128.load(vp);
          a0 = madd(p, vv, a0); b0 = madd(r, vv, b0);
          vv = v128.load(vp, 16);
          a1 = madd(p, vv, a1); b1 = madd(r, vv, b1);
          vp += ld;
        }
        const op = o0 + <usize>(t * 4), oq = o1 + <usize>(t * 4);
        v128.store(op, f32x4.mul(a0, inv0)); v128.store(op, f32x4.mul(a1, inv0), 16);
        v128.store(oq, f32x4.mul(b0, inv1)); v128.store(oq, f32x4.mul(b1, inv1), 16);
      }
      for (; t < d; t += 4) {
        // d is a multiple of 4 (the weight format checks it)
        let a0 = f32x4.splat(0), b0 = f32x4.splat(0);
        let vp = qkv + vOff + <usize>(t * 4);
        for (let j = 0; j < seq; j++) {
          const vv = v128.load(vp);
          a0 = madd(v128.load32_splat(probs + <usize>(j * 4)), vv, a0);
          b0 = madd(v128.load32_splat(probs1 + <usize>(j * 4)), vv, b0);
          vp += ld;
        }
        v128.store(o0 + <usize>(t * 4), f32x4.mul(a0, inv0));
        v128.store(o1 + <usize>(t * 4), f32x4.mul(b0, inv1));
      }
    }
  }
}

// ---- embeddings ----

/**
 * The image's non-overlapping patch x patch squares as rows (the patch-embedding convolution as a
 * GEMM): row gy*grid+gx, column c*patch*patch + py*patch + px (Conv weight order [out, c, py, px]).
 */
export function im2col(pixels: usize, channels: i32, size: i32, patch: i32, out: usize, ldo: i32): void {
  const grid = size / patch;
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      let o = out + <usize>((gy * grid + gx) * ldo);
      for (let c = 0; c < channels; c++) {
        for (let py = 0; py < patch; py++) {
          memory.copy(o, pixels + <usize>(((c * size + gy * patch + py) * size + gx * patch) * 4), <usize>(patch * 4));
          o += <usize>(patch * 4);
        }
      }
    }
  }
}

/** dst[r, 0..cols) += src[r, 0..cols) (f32). */
export function addRows(dst: usize, ldd: i32, src: usize, lds: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const d = dst + <usize>(r * ldd), s = src + <usize>(r * lds);
    let i = 0;
    for (; i + 4 <= cols; i += 4) v128.store(d + <usize>(i * 4), f32x4.add(v128.load(d + <usize>(i * 4)), v128.load(s + <usize>(i * 4))));
    for (; i < cols; i++) store<f32>(d + <usize>(i * 4), load<f32>(d + <usize>(i * 4)) + load<f32>(s + <usize>(i * 4)));
  }
}
