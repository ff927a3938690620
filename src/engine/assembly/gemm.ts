// int8 GEMM micro-kernels: u7 activations (rows) x i8 weights (packed), int32 accumulation,
// dequantised to f32 in the epilogue.
//
//   out[m][n] (+)= rowScale[m] * wScale[n] * (sum_k qa[m][k] * qw[n][k] - rowZp[m] * colSum[n]) + bias[n]
//
// Packed weights (docs/edge-vit-format.md): output columns in blocks of 16, k in groups of 4; for
// each block, for each group, 64 bytes [column 0..15][k 0..3]. One 16-byte vector then holds 4
// columns x 4 k, exactly the operand of i32x4.relaxed_dot_i8x16_i7x16_add_s, whose lane c sums
// a[4c..4c+3] * b[4c..4c+3]: the activations' 4 bytes are splat to all lanes.
//
// Operand order matters: the relaxed dot's second operand (`b`, i7) must stay in [0, 127]. V8
// lowers it to vpdpbusd (b unsigned) on VNNI CPUs and to pmaddubsw (b unsigned, i16 saturation)
// + pmaddwd + paddd elsewhere; with b < 128 and |a| <= 127 the pair sums stay within
// 2 * 127 * 127 = 32258 < 32767, so no lowering saturates and all agree. Weights (signed,
// [-127, 127]) are `a`; activations (7-bit unsigned with a per-row zero point) are `b`.
//
// The accumulators start at -rowZp * colSum (the zero-point correction), as XNNPACK's qd8 kernels
// do, so the epilogue is a convert, a multiply and an add.

// @ts-ignore: decorator
@inline export const NR: i32 = 16;

/** Plain-SIMD stand-in for the relaxed dot: `a16` is the activations' 4 bytes widened to i16x8 (twice). */
// @ts-ignore: decorator
@inline function dotPlain(w: v128, a16: v128, acc: v128): v128 {
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), a16); // [c0 k01, c0 k23, c1 k01, c1 k23]
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), a16); // [c2 k01, c2 k23, c3 k01, c3 k23]
  const even = i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const odd = i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  return i32x4.add(acc, i32x4.add(even, odd));
}

/** The activations' 4 bytes at `p`, splat to all lanes (widened to i16 for the plain path). */
// @ts-ignore: decorator
@inline function loadA(p: usize): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return v128.load32_splat(p);
  return i16x8.extend_low_i8x16_u(v128.load32_splat(p));
}

// @ts-ignore: decorator
@inline function dot(w: v128, a: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, a, acc);
  return dotPlain(w, a, acc);
}

/** Epilogue for one row and 4 columns: dequantise, add bias, store or add into out. */
// @ts-ignore: decorator
@inline function finish(acc: v128, s: v128, ws: v128, b: v128, o: usize, accumulate: bool): void {
  let y = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(acc), f32x4.mul(s, ws)), b);
  if (accumulate) y = f32x4.add(y, v128.load(o));
  v128.store(o, y);
}

/** One row of 16 columns (tails of M, and M = 1). */
function tile1x16(kpad: i32, a: usize, w: usize, rowScale: usize, rowZp: usize, wScale: usize, colSum: usize, bias: usize, out: usize, accumulate: bool): void {
  const z = i32x4.splat(-load<i32>(rowZp));
  let c0 = i32x4.mul(v128.load(colSum), z);
  let c1 = i32x4.mul(v128.load(colSum, 16), z);
  let c2 = i32x4.mul(v128.load(colSum, 32), z);
  let c3 = i32x4.mul(v128.load(colSum, 48), z);
  const end = a + <usize>kpad;
  while (a < end) {
    const av = loadA(a);
    c0 = dot(v128.load(w), av, c0);
    c1 = dot(v128.load(w, 16), av, c1);
    c2 = dot(v128.load(w, 32), av, c2);
    c3 = dot(v128.load(w, 48), av, c3);
    a += 4;
    w += 64;
  }
  const s = v128.load32_splat(rowScale);
  finish(c0, s, v128.load(wScale), v128.load(bias), out, accumulate);
  finish(c1, s, v128.load(wScale, 16), v128.load(bias, 16), out + 16, accumulate);
  finish(c2, s, v128.load(wScale, 32), v128.load(bias, 32), out + 32, accumulate);
  finish(c3, s, v128.load(wScale, 48), v128.load(bias, 48), out + 48, accumulate);
}

/** Four rows of 16 columns: 16 int32x4 accumulators; each weight vector is loaded once and used 4 times. */
function tile4x16(kpad: i32, a: usize, lda: usize, w: usize, rowScale: usize, rowZp: usize, wScale: usize, colSum: usize, bias: usize, out: usize, ldo: usize, accumulate: bool): void {
  const k0 = v128.load(colSum), k1 = v128.load(colSum, 16), k2 = v128.load(colSum, 32), k3 = v128.load(colSum, 48);
  let z = i32x4.splat(-load<i32>(rowZp));
  let c00 = i32x4.mul(k0, z), c01 = i32x4.mul(k1, z), c02 = i32x4.mul(k2, z), c03 = i32x4.mul(k3, z);
  z = i32x4.splat(-load<i32>(rowZp, 4));
  let c10 = i32x4.mul(k0, z), c11 = i32x4.mul(k1, z), c12 = i32x4.mul(k2, z), c13 = i32x4.mul(k3, z);
  z = i32x4.splat(-load<i32>(rowZp, 8));
  let c20 = i32x4.mul(k0, z), c21 = i32x4.mul(k1, z), c22 = i32x4.mul(k2, z), c23 = i32x4.mul(k3, z);
  z = i32x4.splat(-load<i32>(rowZp, 12));
  let c30 = i32x4.mul(k0, z), c31 = i32x4.mul(k1, z), c32 = i32x4.mul(k2, z), c33 = i32x4.mul(k3, z);
  const a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
  const end = <usize>kpad;
  for (let k: usize = 0; k < end; k += 4) {
    const x0 = loadA(a + k), x1 = loadA(a1 + k), x2 = loadA(a2 + k), x3 = loadA(a3 + k);
    let wv = v128.load(w);
    c00 = dot(wv, x0, c00); c10 = dot(wv, x1, c10); c20 = dot(wv, x2, c20); c30 = dot(wv, x3, c30);
    wv = v128.load(w, 16);
    c01 = dot(wv, x0, c01); c11 = dot(wv, x1, c11); c21 = dot(wv, x2, c21); c31 = dot(wv, x3, c31);
    wv = v128.load(w, 32);
    c02 = dot(wv, x0, c02); c12 = dot(wv, x1, c12); c22 = dot(wv, x2, c22); c32 = dot(wv, x3, c32);
    wv = v128.load(w, 48);
    c03 = dot(wv, x0, c03); c13 = dot(wv, x1, c13); c23 = dot(wv, x2, c23); c33 = dot(wv, x3, c33);
    w += 64;
  }
  const ws0 = v128.load(wScale), ws1 = v128.load(wScale, 16), ws2 = v128.load(wScale, 32), ws3 = v128.load(wScale, 48);
  const b0 = v128.load(bias), b1 = v128.load(bias, 16), b2 = v128.load(bias, 32), b3 = v128.load(bias, 48);
  let s = v128.load32_splat(rowScale);
  finish(c00, s, ws0, b0, out, accumulate); finish(c01, s, ws1, b1, out + 16, accumulate);
  finish(c02, s, ws2, b2, out + 32, accumulate); finish(c03, s, ws3, b3, out + 48, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 4);
  finish(c10, s, ws0, b0, out, accumulate); finish(c11, s, ws1, b1, out + 16, accumulate);
  finish(c12, s, ws2, b2, out + 32, accumulate); finish(c13, s, ws3, b3, out + 48, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 8);
  finish(c20, s, ws0, b0, out, accumulate); finish(c21, s, ws1, b1, out + 16, accumulate);
  finish(c22, s, ws2, b2, out + 32, accumulate); finish(c23, s, ws3, b3, out + 48, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 12);
  finish(c30, s, ws0, b0, out, accumulate); finish(c31, s, ws1, b1, out + 16, accumulate);
  finish(c32, s, ws2, b2, out + 32, accumulate); finish(c33, s, ws3, b3, out + 48, accumulate);
}

/**
 * Four rows of 8 columns (half a packed block: `half` 0 or 1): 8 accumulators, which fit x64's 16
 * vector registers with the 4 activation splats; the 4x16 tile needs 21 and spills.
 */
function tile4x8(kpad: i32, a: usize, lda: usize, w: usize, half: i32, rowScale: usize, rowZp: usize, wScale: usize, colSum: usize, bias: usize, out: usize, ldo: usize, accumulate: bool): void {
  const off = <usize>(half * 32);
  w += off; wScale += off; colSum += off; bias += off; out += off;
  const k0 = v128.load(colSum), k1 = v128.load(colSum, 16);
  let z = i32x4.splat(-load<i32>(rowZp));
  let c00 = i32x4.mul(k0, z), c01 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 4));
  let c10 = i32x4.mul(k0, z), c11 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 8));
  let c20 = i32x4.mul(k0, z), c21 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 12));
  let c30 = i32x4.mul(k0, z), c31 = i32x4.mul(k1, z);
  const a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
  const end = <usize>kpad;
  for (let k: usize = 0; k < end; k += 4) {
    const x0 = loadA(a + k), x1 = loadA(a1 + k), x2 = loadA(a2 + k), x3 = loadA(a3 + k);
    let wv = v128.load(w);
    c00 = dot(wv, x0, c00); c10 = dot(wv, x1, c10); c20 = dot(wv, x2, c20); c30 = dot(wv, x3, c30);
    wv = v128.load(w, 16);
    c01 = dot(wv, x0, c01); c11 = dot(wv, x1, c11); c21 = dot(wv, x2, c21); c31 = dot(wv, x3, c31);
    w += 64;
  }
  const ws0 = v128.load(wScale), ws1 = v128.load(wScale, 16);
  const b0 = v128.load(bias), b1 = v128.load(bias, 16);
  let s = v128.load32_splat(rowScale);
  finish(c00, s, ws0, b0, out, accumulate); finish(c01, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 4);
  finish(c10, s, ws0, b0, out, accumulate); finish(c11, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 8);
  finish(c20, s, ws0, b0, out, accumulate); finish(c21, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 12);
  finish(c30, s, ws0, b0, out, accumulate); finish(c31, s, ws1, b1, out + 16, accumulate);
}

/**
 * Six rows of 8 columns (half a packed block): the two weight vectors stay in registers and each
 * row's activations are loaded once: 12 accumulators + 2 weights + 1 activation = 15 registers,
 * what V8 leaves free on x64 (xmm15 is its scratch register).
 */
function tile6x8(kpad: i32, a: usize, lda: usize, w: usize, half: i32, rowScale: usize, rowZp: usize, wScale: usize, colSum: usize, bias: usize, out: usize, ldo: usize, accumulate: bool): void {
  const off = <usize>(half * 32);
  w += off; wScale += off; colSum += off; bias += off; out += off;
  const k0 = v128.load(colSum), k1 = v128.load(colSum, 16);
  let z = i32x4.splat(-load<i32>(rowZp));
  let c00 = i32x4.mul(k0, z), c01 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 4));
  let c10 = i32x4.mul(k0, z), c11 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 8));
  let c20 = i32x4.mul(k0, z), c21 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 12));
  let c30 = i32x4.mul(k0, z), c31 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 16));
  let c40 = i32x4.mul(k0, z), c41 = i32x4.mul(k1, z);
  z = i32x4.splat(-load<i32>(rowZp, 20));
  let c50 = i32x4.mul(k0, z), c51 = i32x4.mul(k1, z);
  const a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
  const end = <usize>kpad;
  for (let k: usize = 0; k < end; k += 4) {
    const w0 = v128.load(w), w1 = v128.load(w, 16);
    let x = loadA(a + k);
    c00 = dot(w0, x, c00); c01 = dot(w1, x, c01);
    x = loadA(a1 + k);
    c10 = dot(w0, x, c10); c11 = dot(w1, x, c11);
    x = loadA(a2 + k);
    c20 = dot(w0, x, c20); c21 = dot(w1, x, c21);
    x = loadA(a3 + k);
    c30 = dot(w0, x, c30); c31 = dot(w1, x, c31);
    x = loadA(a4 + k);
    c40 = dot(w0, x, c40); c41 = dot(w1, x, c41);
    x = loadA(a5 + k);
    c50 = dot(w0, x, c50); c51 = dot(w1, x, c51);
    w += 64;
  }
  const ws0 = v128.load(wScale), ws1 = v128.load(wScale, 16);
  const b0 = v128.load(bias), b1 = v128.load(bias, 16);
  let s = v128.load32_splat(rowScale);
  finish(c00, s, ws0, b0, out, accumulate); finish(c01, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 4);
  finish(c10, s, ws0, b0, out, accumulate); finish(c11, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 8);
  finish(c20, s, ws0, b0, out, accumulate); finish(c21, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 12);
  finish(c30, s, ws0, b0, out, accumulate); finish(c31, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 16);
  finish(c40, s, ws0, b0, out, accumulate); finish(c41, s, ws1, b1, out + 16, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 20);
  finish(c50, s, ws0, b0, out, accumulate); finish(c51, s, ws1, b1, out + 16, accumulate);
}

/** Two rows of 16 columns: the tail of M (M = 50 is 8 x 6 + 2), 8 accumulators. */
function tile2x16(kpad: i32, a: usize, lda: usize, w: usize, rowScale: usize, rowZp: usize, wScale: usize, colSum: usize, bias: usize, out: usize, ldo: usize, accumulate: bool): void {
  const k0 = v128.load(colSum), k1 = v128.load(colSum, 16), k2 = v128.load(colSum, 32), k3 = v128.load(colSum, 48);
  let z = i32x4.splat(-load<i32>(rowZp));
  let c00 = i32x4.mul(k0, z), c01 = i32x4.mul(k1, z), c02 = i32x4.mul(k2, z), c03 = i32x4.mul(k3, z);
  z = i32x4.splat(-load<i32>(rowZp, 4));
  let c10 = i32x4.mul(k0, z), c11 = i32x4.mul(k1, z), c12 = i32x4.mul(k2, z), c13 = i32x4.mul(k3, z);
  const a1 = a + lda;
  const end = <usize>kpad;
  for (let k: usize = 0; k < end; k += 4) {
    const x0 = loadA(a + k), x1 = loadA(a1 + k);
    let wv = v128.load(w);
    c00 = dot(wv, x0, c00); c10 = dot(wv, x1, c10);
    wv = v128.load(w, 16);
    c01 = dot(wv, x0, c01); c11 = dot(wv, x1, c11);
    wv = v128.load(w, 32);
    c02 = dot(wv, x0, c02); c12 = dot(wv, x1, c12);
    wv = v128.load(w, 48);
    c03 = dot(wv, x0, c03); c13 = dot(wv, x1, c13);
    w += 64;
  }
  const ws0 = v128.load(wScale), ws1 = v128.load(wScale, 16), ws2 = v128.load(wScale, 32), ws3 = v128.load(wScale, 48);
  const b0 = v128.load(bias), b1 = v128.load(bias, 16), b2 = v128.load(bias, 32), b3 = v128.load(bias, 48);
  let s = v128.load32_splat(rowScale);
  finish(c00, s, ws0, b0, out, accumulate); finish(c01, s, ws1, b1, out + 16, accumulate);
  finish(c02, s, ws2, b2, out + 32, accumulate); finish(c03, s, ws3, b3, out + 48, accumulate);
  out += ldo;
  s = v128.load32_splat(rowScale, 4);
  finish(c10, s, ws0, b0, out, accumulate); finish(c11, s, ws1, b1, out + 16, accumulate);
  finish(c12, s, ws2, b2, out + 32, accumulate); finish(c13, s, ws3, b3, out + 48, accumulate);
}

/** Which register tile the driver uses for full 4-row blocks (tuned per runtime; see setTile). */
let tileKind: i32 = 0; // 0: 4x16, 1: 4x8, 2: 6x8

export function setTile(kind: i32): void {
  tileKind = kind;
}

/**
 * out[m, 0..npad) (+)= dequant(qa[m] . W^T) + bias, for m < rows. Byte strides: lda (activations,
 * u8), ldo (out, f32). kpad is a multiple of 16 and npad of 16 (the weight format guarantees it).
 */
export function gemm(rows: i32, kpad: i32, npad: i32, qa: usize, lda: i32, rowScale: usize, rowZp: usize, w: usize, wScale: usize, colSum: usize, bias: usize, out: usize, ldo: i32, accumulate: bool): void {
  const blockBytes = <usize>(kpad * NR);
  const ldA = <usize>lda, ldO = <usize>ldo;
  for (let n = 0; n < npad; n += NR) {
    const nb = <usize>n;
    const wn = w + (nb / NR) * blockBytes;
    let m = 0;
    if (tileKind == 2) {
      for (; m + 6 <= rows; m += 6) {
        const mb = <usize>m;
        tile6x8(kpad, qa + mb * ldA, ldA, wn, 0, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
        tile6x8(kpad, qa + mb * ldA, ldA, wn, 1, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
      }
    }
    for (; m + 4 <= rows; m += 4) {
      const mb = <usize>m;
      if (tileKind == 1) {
        tile4x8(kpad, qa + mb * ldA, ldA, wn, 0, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
        tile4x8(kpad, qa + mb * ldA, ldA, wn, 1, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
      } else {
        tile4x16(kpad, qa + mb * ldA, ldA, wn, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
      }
    }
    for (; m + 2 <= rows; m += 2) {
      const mb = <usize>m;
      tile2x16(kpad, qa + mb * ldA, ldA, wn, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, ldO, accumulate);
    }
    for (; m < rows; m++) {
      const mb = <usize>m;
      tile1x16(kpad, qa + mb * ldA, wn, rowScale + mb * 4, rowZp + mb * 4, wScale + nb * 4, colSum + nb * 4, bias + nb * 4, out + mb * ldO + nb * 4, accumulate);
    }
  }
}

/** out (4 x i32) = the module's dot of one 16-byte weight vector `a` with one activation vector `b`, plus c. For the lowering test. */
export function dotProbe(a: usize, b: usize, c: usize, out: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    v128.store(out, i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(a), v128.load(b), v128.load(c)));
  } else {
    // The plain path sees the activations as unsigned bytes (extend_u), like vpdpbusd.
    const bv = v128.load(b);
    const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v128.load(a)), i16x8.extend_low_i8x16_u(bv));
    const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v128.load(a)), i16x8.extend_high_i8x16_u(bv));
    const even = i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    const odd = i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    v128.store(out, i32x4.add(v128.load(c), i32x4.add(even, odd)));
  }
}
