/**
 * CLIP preprocessing (resize, centre crop, rescale, normalise) run by the engine's WASM kernels,
 * written straight into the engine's input buffer. In JS it was the largest part of a request after
 * the encoder (~5 ms of ~80 for ViT-B/32 on a 640x480 photo); with SIMD it is ~1 ms.
 *
 * The plan (Pillow's fixed-point kernels for the cropped window, the normalisation table) comes from
 * ClipImageProcessor, so the floats are the ones ClipImageProcessor.preprocess returns, bit for bit;
 * whenever an image does not fit this path (the crop needs padding, a row is wider than the scratch)
 * that JS path runs instead. Memory: the activation scratch after the input buffer, idle between
 * encodes, holds the kernels' buffers; nothing is allocated.
 */
import type { ClipImageProcessor } from '../image/clip-image-processor.ts';
import type { Coefficients } from '../image/pillow-resize.ts';
import { assertRgbImage, type RgbImage } from '../image/rgb-image.ts';
import { bumpAllocator, roundUp } from './format.ts';
import type { EdgeVitKernels } from './kernels.ts';

/** A byte range of WASM memory the preprocessing may use freely. */
export interface ScratchRegion {
  readonly start: number;
  readonly end: number;
}

/** Bytes of the kernel buffers for one image, laid out from `at`; null if they would pass `end`. */
function layout(at: number, end: number, srcBytes: number, cols: number, rows: number, h: Coefficients, v: Coefficients, ring: number) {
  const { take, end: last } = bumpAllocator(at, 16);
  const rowBytes = roundUp(cols * 4, 16);
  const l = {
    lut: take(3 * 256 * 4),
    hStart: take(cols * 4),
    hCount: take(cols * 4),
    hWeights: take(cols * h.ksize * 4),
    vWeights: take(rows * v.ksize * 4),
    src: take(srcBytes + 16), // +16: a 3-byte pixel is read as 4 bytes
    ring: take(ring * rowBytes),
    row: take(rowBytes),
    rowBytes,
  };
  return last() <= end ? l : null;
}

export class EdgeVitPreprocessor {
  /** Images preprocessed by the WASM kernels and by the JS fallback (tests check which path ran). */
  readonly counts = { wasm: 0, js: 0 };

  constructor(
    private readonly k: EdgeVitKernels,
    private readonly scratch: ScratchRegion,
    /** The engine's input buffer: [channels, size, size] f32. */
    private readonly pixels: number,
    private readonly imageSize: number,
    private readonly processor: ClipImageProcessor,
  ) {}

  /**
   * The model input for `img`, [3, S, S] CHW. When the WASM path ran, the result is a view of the
   * engine's input buffer (valid until the next preprocess or encode, which then skips its copy);
   * otherwise a fresh array from ClipImageProcessor.
   */
  preprocess(img: RgbImage): Float32Array {
    assertRgbImage(img);
    const out = this.run(img);
    if (out !== null) {
      this.counts.wasm++;
      return out;
    }
    this.counts.js++;
    return this.processor.preprocess(img);
  }

  private run(img: RgbImage): Float32Array | null {
    const S = this.imageSize;
    const plan = this.processor.plan(img.width, img.height);
    if (plan === null || plan.window.width !== S || plan.window.height !== S) return null;
    const { horizontal: h, vertical: v } = plan.kernels;
    // Source columns the window reads; rows of the source are copied in one at a time.
    const colMin = h.start[0]!;
    let colEnd = 0;
    for (let x = 0; x < S; x++) colEnd = Math.max(colEnd, h.start[x]! + h.count[x]!);
    let ring = 0;
    for (let y = 0; y < S; y++) ring = Math.max(ring, v.count[y]!);
    const l = layout(this.scratch.start, this.scratch.end, (colEnd - colMin) * 3, S, S, h, v, ring);
    if (l === null) return null;

    const mem = this.k.memory.buffer;
    new Float32Array(mem, l.lut, 3 * 256).set(plan.lut);
    const hStart = new Int32Array(mem, l.hStart, S);
    for (let x = 0; x < S; x++) hStart[x] = h.start[x]! - colMin;
    new Int32Array(mem, l.hCount, S).set(h.count);
    new Int32Array(mem, l.hWeights, S * h.ksize).set(h.weights.subarray(0, S * h.ksize));
    new Int32Array(mem, l.vWeights, S * v.ksize).set(v.weights.subarray(0, S * v.ksize));
    const u8 = new Uint8Array(mem);
    const stride = img.width * 3;
    const k = this.k;
    let next = v.start[0]!; // the next source row the horizontal pass has not produced
    for (let y = 0; y < S; y++) {
      const first = v.start[y]!;
      const end = first + v.count[y]!;
      // Rows before `first` are no longer read (starts only grow), so ring slot (row % ring) is free.
      for (next = Math.max(next, first); next < end; next++) {
        const from = next * stride + colMin * 3;
        u8.set(img.data.subarray(from, from + (colEnd - colMin) * 3), l.src);
        k.resampleRow(l.src, 3, S, l.hStart, l.hCount, l.hWeights, h.ksize, l.ring + (next % ring) * l.rowBytes);
      }
      k.resampleColumn(l.ring, ring, l.rowBytes, first, end - first, l.vWeights + y * v.ksize * 4, l.rowBytes, l.row);
      k.normalizeRow(l.row, S, l.lut, this.pixels + y * S * 4, S * S * 4);
    }
    return new Float32Array(mem, this.pixels, 3 * S * S);
  }
}
