/**
 * Pillow's `Image.resize((w, h), filter, box)` for 8-bit RGB, ported from src/libImaging/Resample.c so
 * that the output bytes are identical: a separable convolution whose kernel is widened by the scale
 * factor when downscaling (antialiasing), coefficients normalised to sum 1 then quantised to 22-bit
 * fixed point, horizontal pass first over only the rows the vertical pass reads, round-half-up and clip.
 * All floating-point expressions keep Pillow's evaluation order (doubles in both), which is what makes
 * the quantised coefficients, and so the pixels, match.
 */
import { InvalidArgumentError } from '../errors.ts';
import { assertRgbImage, cropImage, type CropBox, type RgbImage } from './rgb-image.ts';

/** Pillow's resampling filter ids (PIL.Image.Resampling), as stored in preprocessor_config.json `resample`. */
export const PillowFilter = {
  NEAREST: 0,
  LANCZOS: 1,
  BILINEAR: 2,
  BICUBIC: 3,
  BOX: 4,
  HAMMING: 5,
} as const;
export type PillowFilter = (typeof PillowFilter)[keyof typeof PillowFilter];

interface Filter {
  fn: (x: number) => number;
  support: number;
}

function boxFilter(x: number): number {
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

function bilinearFilter(x: number): number {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Pillow writes these constants as C floats (0.54f, 0.46f).
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

function hammingFilter(x: number): number {
  if (x < 0.0) x = -x;
  if (x === 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * Math.PI;
  return (Math.sin(x) / x) * (HAMMING_A + HAMMING_B * Math.cos(x));
}

const A = -0.5;
function bicubicFilter(x: number): number {
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((A + 2.0) * x - (A + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * A;
  return 0.0;
}

function sincFilter(x: number): number {
  if (x === 0.0) return 1.0;
  x = x * Math.PI;
  return Math.sin(x) / x;
}

function lanczosFilter(x: number): number {
  if (-3.0 <= x && x < 3.0) return sincFilter(x) * sincFilter(x / 3);
  return 0.0;
}

const FILTERS: Partial<Record<PillowFilter, Filter>> = {
  [PillowFilter.BOX]: { fn: boxFilter, support: 0.5 },
  [PillowFilter.BILINEAR]: { fn: bilinearFilter, support: 1.0 },
  [PillowFilter.HAMMING]: { fn: hammingFilter, support: 1.0 },
  [PillowFilter.BICUBIC]: { fn: bicubicFilter, support: 2.0 },
  [PillowFilter.LANCZOS]: { fn: lanczosFilter, support: 3.0 },
};

// 8 bits for the result, 2 bits of headroom for negative lobes and sums above 1.
const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
// Accumulators are int32 as in C (Math.imul, | 0): the headroom bits keep the sums from overflowing.

/** One axis's resampling kernel: output pixel i reads `count[i]` inputs from `start[i]` with weights `weights[i * ksize ..]`. */
export interface Coefficients {
  /** Taps per output pixel (the stride of `weights`). */
  ksize: number;
  /** First input index per output pixel. */
  start: Int32Array;
  /** Number of used taps per output pixel. */
  count: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel. */
  weights: Int32Array;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis; `in0`/`in1` are the box edges (C floats).
 * Only output pixels [first, first + n) are computed (each one's kernel depends on its own index only, so
 * a window of the output gets the same coefficients as Pillow's whole resize).
 */
function precomputeCoefficients(inSize: number, in0: number, in1: number, outSize: number, filter: Filter, first = 0, n = outSize - first): Coefficients {
  // C: float box edges, their difference taken in float, then divided in double.
  const f0 = Math.fround(in0);
  const scale = Math.fround(Math.fround(in1) - f0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Int32Array(n * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let i = 0; i < n; i++) {
    const xx = first + i;
    const center = f0 + (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    const base = i * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0.0 ? (k[x] as number) / ww : (k[x] as number);
      weights[base + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[i] = xmin;
    count[i] = xmax;
  }
  return { ksize, start, count, weights };
}

/**
 * One axis's coefficients for output pixels [first, first + n): Pillow's when the axis is resampled,
 * else the identity (one tap of weight 1, exact in fixed point) for the pass Pillow skips.
 */
function axisCoefficients(resampled: boolean, inSize: number, in0: number, in1: number, outSize: number, filter: Filter, first: number, n: number): Coefficients {
  if (resampled) return precomputeCoefficients(inSize, in0, in1, outSize, filter, first, n);
  const start = Int32Array.from({ length: n }, (_, i) => first + i);
  return { ksize: 1, start, count: new Int32Array(n).fill(1), weights: new Int32Array(n).fill(1 << PRECISION_BITS) };
}

/** Which passes Pillow's ImagingResample runs (libImaging/Resample.c: need_horizontal, need_vertical). */
function passes(img: { width: number; height: number }, width: number, height: number, box: readonly [number, number, number, number]): { horizontal: boolean; vertical: boolean } {
  const [x0, y0, x1, y1] = box;
  return { horizontal: width !== img.width || x0 !== 0 || x1 !== width, vertical: height !== img.height || y0 !== 0 || y1 !== height };
}

function filterOf(filterId: PillowFilter): Filter {
  const filter = FILTERS[filterId];
  if (filter === undefined) {
    throw new InvalidArgumentError(
      `Unsupported resampling filter ${filterId}: supported are 1 (LANCZOS), 2 (BILINEAR), 3 (BICUBIC), 4 (BOX), 5 (HAMMING).`,
    );
  }
  return filter;
}

/** Both axes' coefficients of `Image.resize((width, height), filter)` on a whole `inWidth` x `inHeight` image, for one window of the output. */
export interface ResizeKernels {
  horizontal: Coefficients;
  vertical: Coefficients;
}

/**
 * The fixed-point kernels of Pillow's resize of a whole image, restricted to `window` of its output.
 * A pass Pillow skips gets identity coefficients, so running both passes always gives Pillow's bytes.
 * Used by resizers that run outside this file (the edge-vit engine's WASM preprocessing).
 */
export function resizeKernels(inWidth: number, inHeight: number, width: number, height: number, filterId: PillowFilter, window: CropBox): ResizeKernels {
  const filter = filterOf(filterId);
  const need = passes({ width: inWidth, height: inHeight }, width, height, [0, 0, inWidth, inHeight]);
  return {
    horizontal: axisCoefficients(need.horizontal, inWidth, 0, inWidth, width, filter, window.left, window.width),
    vertical: axisCoefficients(need.vertical, inHeight, 0, inHeight, height, filter, window.top, window.height),
  };
}

function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : s > 255 ? 255 : s;
}

export interface ResizeOptions {
  /** Pillow filter id; default BICUBIC. NEAREST is a different code path in Pillow and is not supported. */
  filter?: PillowFilter;
  /** Source region [left, top, right, bottom] in (fractional) pixels; default the whole image. */
  box?: readonly [number, number, number, number];
  /**
   * Compute only this rectangle of the output (what a centre crop keeps): the bytes equal the same
   * rectangle of the whole resize, at a fraction of the work. Default: the whole output.
   */
  window?: CropBox;
}

/** `Image.resize((width, height), filter, box)` on an RGB image, byte-identical to Pillow. */
export function pillowResize(img: RgbImage, width: number, height: number, options: ResizeOptions = {}): RgbImage {
  assertRgbImage(img, 'pillowResize input');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InvalidArgumentError(`Resize target must be positive integers, got ${width}x${height}.`);
  }
  const filter = filterOf(options.filter ?? PillowFilter.BICUBIC);
  const box = options.box ?? [0, 0, img.width, img.height];
  const [x0, y0, x1, y1] = box;
  if (x0 < 0 || y0 < 0 || x1 > img.width || y1 > img.height || x1 - x0 < 0 || y1 - y0 < 0) {
    throw new InvalidArgumentError(`Resize box [${box.join(', ')}] is outside the ${img.width}x${img.height} image.`);
  }
  const win = options.window ?? { left: 0, top: 0, width, height };
  if (!Number.isInteger(win.left) || !Number.isInteger(win.top) || !Number.isInteger(win.width) || !Number.isInteger(win.height)
    || win.left < 0 || win.top < 0 || win.width <= 0 || win.height <= 0 || win.left + win.width > width || win.top + win.height > height) {
    throw new InvalidArgumentError(`Resize window ${win.width}x${win.height} at (${win.left}, ${win.top}) is not inside the ${width}x${height} output.`);
  }
  const whole = win.left === 0 && win.top === 0 && win.width === width && win.height === height;
  // Image.resize returns a plain copy when nothing changes.
  if (width === img.width && height === img.height && x0 === 0 && y0 === 0 && x1 === img.width && y1 === img.height) {
    return whole ? { width, height, data: img.data.slice() } : cropImage(img, win);
  }

  const { horizontal: needHorizontal, vertical: needVertical } = passes(img, width, height, box);

  // Rows of the window: Pillow's coefficients for those output rows (or, with no vertical pass, the rows themselves).
  const vert = axisCoefficients(needVertical, img.height, y0, y1, height, filter, win.top, win.height);
  // Only rows [yFirst, yLast) of the source are read by the vertical pass.
  const yFirst = vert.start[0] as number;
  const yLast = (vert.start[win.height - 1] as number) + (vert.count[win.height - 1] as number);

  let src = img;
  let rowOffset = 0;
  if (needHorizontal) {
    const horiz = precomputeCoefficients(img.width, x0, x1, width, filter, win.left, win.width);
    src = resampleHorizontal(img, yFirst, yLast - yFirst, win.width, horiz);
    rowOffset = yFirst;
  } else if (win.left !== 0 || win.width !== img.width) {
    src = cropImage(img, { left: win.left, top: yFirst, width: win.width, height: yLast - yFirst });
    rowOffset = yFirst;
  }
  if (needVertical) return resampleVertical(src, rowOffset, win.height, vert);
  return rowOffset === win.top && src.height === win.height ? src : cropImage(src, { left: 0, top: win.top - rowOffset, width: win.width, height: win.height });
}

function resampleHorizontal(img: RgbImage, firstRow: number, rows: number, outWidth: number, c: Coefficients): RgbImage {
  const { ksize, start, count, weights } = c;
  const inData = img.data;
  const inStride = img.width * 3;
  const out = new Uint8Array(outWidth * rows * 3);
  for (let yy = 0; yy < rows; yy++) {
    const rowBase = (yy + firstRow) * inStride;
    let o = yy * outWidth * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = count[xx] as number;
      const kBase = xx * ksize;
      let p = rowBase + (start[xx] as number) * 3;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < n; x++, p += 3) {
        const w = weights[kBase + x] as number;
        s0 = (s0 + Math.imul(inData[p] as number, w)) | 0;
        s1 = (s1 + Math.imul(inData[p + 1] as number, w)) | 0;
        s2 = (s2 + Math.imul(inData[p + 2] as number, w)) | 0;
      }
      out[o++] = clip8(s0);
      out[o++] = clip8(s1);
      out[o++] = clip8(s2);
    }
  }
  return { width: outWidth, height: rows, data: out };
}

/** `rowOffset` is the source row that `img` row 0 stands for (the horizontal pass skipped rows above it). */
function resampleVertical(img: RgbImage, rowOffset: number, outHeight: number, c: Coefficients): RgbImage {
  const { ksize, start, count, weights } = c;
  const inData = img.data;
  const stride = img.width * 3;
  const out = new Uint8Array(stride * outHeight);
  // Row-at-a-time accumulation keeps memory access sequential.
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const n = count[yy] as number;
    const kBase = yy * ksize;
    acc.fill(HALF);
    let rowBase = ((start[yy] as number) - rowOffset) * stride;
    for (let y = 0; y < n; y++, rowBase += stride) {
      const w = weights[kBase + y] as number;
      for (let i = 0; i < stride; i++) acc[i] = ((acc[i] as number) + Math.imul(inData[rowBase + i] as number, w)) | 0;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = clip8(acc[i] as number);
  }
  return { width: img.width, height: outHeight, data: out };
}
