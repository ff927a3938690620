// CLIP's image preprocessing inside the engine: Pillow's 8-bit resampling (libImaging/Resample.c)
// and the uint8 -> float normalisation table, so the image goes from decoded bytes to the encoder's
// input without leaving WASM memory. The fixed-point weights (22 bits) are computed by the host
// (src/core/image/pillow-resize.ts, Pillow's own arithmetic), so the bytes here equal Pillow's:
// the same int32 sums in the same order of rounding, clipped to 0..255 after each pass.
// A pixel is one i32x4 (R, G, B and a fourth lane that is computed and ignored).

// @ts-ignore: decorator
@inline const PRECISION_BITS: i32 = 22;

/** (acc >> 22) clipped to 0..255 in each lane, packed into the low 4 bytes (Pillow's clip8). */
// @ts-ignore: decorator
@inline function clip8x4(acc: v128): v128 {
  const s = i32x4.shr_s(acc, PRECISION_BITS);
  // The saturating narrows clip: to i16 (|s| < 2^10, no effect), then to u8 (0..255).
  const h = i16x8.narrow_i32x4_s(s, s);
  return i8x16.narrow_i16x8_u(h, h);
}

/**
 * The horizontal pass for one row: output pixel x (4 bytes at out + 4x) is
 * clip8(2^21 + sum_t weights[x * ksize + t] * src[(start[x] + t) * bpp + channel]).
 * `bpp` is 3 (RGB) or 4; with 3 the source must be readable one byte past its last pixel.
 * start, count: i32 per output pixel; weights: i32, ksize per output pixel.
 */
export function resampleRow(src: usize, bpp: i32, cols: i32, start: usize, count: usize, weights: usize, ksize: i32, out: usize): void {
  const half = i32x4.splat(1 << (PRECISION_BITS - 1));
  for (let x = 0; x < cols; x++) {
    const n = load<i32>(count + (<usize>x << 2));
    let p = src + <usize>(load<i32>(start + (<usize>x << 2)) * bpp);
    let w = weights + <usize>(x * ksize * 4);
    let acc = half;
    for (let t = 0; t < n; t++) {
      const px = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
      acc = i32x4.add(acc, i32x4.mul(px, i32x4.splat(load<i32>(w))));
      p += <usize>bpp;
      w += 4;
    }
    v128.store32_lane(out + (<usize>x << 2), clip8x4(acc), 0);
  }
}

/**
 * The vertical pass for one output row: out[i] = clip8(2^21 + sum_t weights[t] * row_t[i]) for i < bytes
 * (a multiple of 16), where row_t is row (first + t) of a ring of `ring` rows, `rowBytes` apart, at `rows`.
 * The ring holds the horizontal pass's rows that the current output row reads (Pillow keeps them all;
 * a ring bounds the memory whatever the image's height).
 */
export function resampleColumn(rows: usize, ring: i32, rowBytes: i32, first: i32, n: i32, weights: usize, bytes: i32, out: usize): void {
  const half = i32x4.splat(1 << (PRECISION_BITS - 1));
  const slot0 = first % ring;
  for (let i = 0; i < bytes; i += 16) {
    let a0 = half;
    let a1 = half;
    let a2 = half;
    let a3 = half;
    let slot = slot0;
    for (let t = 0; t < n; t++) {
      const v = v128.load(rows + <usize>(slot * rowBytes + i));
      const w = i32x4.splat(load<i32>(weights + (<usize>t << 2)));
      const lo = i16x8.extend_low_i8x16_u(v);
      const hi = i16x8.extend_high_i8x16_u(v);
      a0 = i32x4.add(a0, i32x4.mul(i32x4.extend_low_i16x8_u(lo), w));
      a1 = i32x4.add(a1, i32x4.mul(i32x4.extend_high_i16x8_u(lo), w));
      a2 = i32x4.add(a2, i32x4.mul(i32x4.extend_low_i16x8_u(hi), w));
      a3 = i32x4.add(a3, i32x4.mul(i32x4.extend_high_i16x8_u(hi), w));
      if (++slot === ring) slot = 0;
    }
    const s01 = i16x8.narrow_i32x4_s(i32x4.shr_s(a0, PRECISION_BITS), i32x4.shr_s(a1, PRECISION_BITS));
    const s23 = i16x8.narrow_i32x4_s(i32x4.shr_s(a2, PRECISION_BITS), i32x4.shr_s(a3, PRECISION_BITS));
    v128.store(out + <usize>i, i8x16.narrow_i16x8_u(s01, s23));
  }
}

/**
 * One row of 4-byte pixels -> three f32 planes (CHW): channel c of pixel x goes to
 * out + c * planeBytes + 4x as lut[c * 256 + value] (the rescale/normalise table, f32).
 */
export function normalizeRow(row: usize, cols: i32, lut: usize, out: usize, planeBytes: i32): void {
  const g = out + <usize>planeBytes;
  const b = g + <usize>planeBytes;
  for (let x = 0; x < cols; x++) {
    const p = row + (<usize>x << 2);
    const o = <usize>x << 2;
    store<f32>(out + o, load<f32>(lut + (<usize>load<u8>(p) << 2)));
    store<f32>(g + o, load<f32>(lut + 1024 + (<usize>load<u8>(p, 1) << 2)));
    store<f32>(b + o, load<f32>(lut + 2048 + (<usize>load<u8>(p, 2) << 2)));
  }
}
