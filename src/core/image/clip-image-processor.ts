/**
 * Hugging Face's CLIPImageProcessor (the PIL/numpy "slow" processor) driven by preprocessor_config.json:
 * resize (Pillow, shortest edge or fixed size), centre crop (zero padding when the image is smaller),
 * rescale and normalise, output CHW float32. Every step mirrors transformers' image_transforms, including
 * its arithmetic types: rescale multiplies in float64 then casts to float32, normalisation subtracts and
 * divides in float32 with mean/std cast to float32. So the output matches HF bit for bit.
 */
import { z } from 'zod';
import { CheckpointError } from '../errors.ts';
import { pillowResize, PillowFilter, resizeKernels, type ResizeKernels } from './pillow-resize.ts';
import { assertRgbImage, type CropBox, type RgbImage } from './rgb-image.ts';

/** transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD, the defaults when the config has none. */
const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

const positiveInt = z.number().int().positive();
// HF accepts an int, a [height, width] list, or a dict; get_size_dict turns them into dicts.
const SizeInput = z.union([
  positiveInt,
  z.array(positiveInt).length(2),
  z.object({ shortest_edge: positiveInt }).loose(),
  z.object({ height: positiveInt, width: positiveInt }).loose(),
]);
const MeanStd = z.union([z.number(), z.array(z.number()).length(3)]);

const ConfigSchema = z
  .object({
    do_resize: z.boolean().optional(),
    size: SizeInput.optional(),
    resample: z.number().int().optional(),
    do_center_crop: z.boolean().optional(),
    crop_size: SizeInput.optional(),
    do_rescale: z.boolean().optional(),
    rescale_factor: z.number().positive().optional(),
    do_normalize: z.boolean().optional(),
    image_mean: MeanStd.optional(),
    image_std: MeanStd.optional(),
    do_convert_rgb: z.boolean().optional(),
  })
  .loose();

export type ResizeTarget = { shortestEdge: number } | { height: number; width: number };

export interface CropSize {
  height: number;
  width: number;
}

const SUPPORTED_RESAMPLE: ReadonlySet<number> = new Set([PillowFilter.LANCZOS, PillowFilter.BILINEAR, PillowFilter.BICUBIC, PillowFilter.BOX, PillowFilter.HAMMING]);

type SizeValue = z.infer<typeof SizeInput>;

/** get_size_dict for `size`: a bare int is the shortest edge, and CLIP's resize() looks at shortest_edge first. */
function toResizeTarget(value: SizeValue): ResizeTarget {
  if (typeof value === 'number') return { shortestEdge: value };
  if (Array.isArray(value)) return { height: value[0] as number, width: value[1] as number };
  if ('shortest_edge' in value && typeof value.shortest_edge === 'number') return { shortestEdge: value.shortest_edge };
  const hw = value as { height: number; width: number };
  return { height: hw.height, width: hw.width };
}

/** get_size_dict for `crop_size`: a bare int is a square; center_crop() needs height and width. */
function toCropSize(value: SizeValue): CropSize {
  if (typeof value === 'number') return { height: value, width: value };
  if (Array.isArray(value)) return { height: value[0] as number, width: value[1] as number };
  if ('height' in value && 'width' in value && typeof value.height === 'number' && typeof value.width === 'number') {
    return { height: value.height, width: value.width };
  }
  throw new CheckpointError('preprocessor_config.json: crop_size must be {"height": H, "width": W} or an integer.');
}

function perChannel(value: number | number[]): [number, number, number] {
  const v = typeof value === 'number' ? [value, value, value] : value;
  return [v[0] as number, v[1] as number, v[2] as number];
}

/** transformers.image_transforms.get_resize_output_image_size with default_to_square=False: the long side is truncated. */
export function shortestEdgeOutputSize(width: number, height: number, shortestEdge: number): { width: number; height: number } {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((shortestEdge * long) / short);
  return width <= height ? { width: shortestEdge, height: newLong } : { width: newLong, height: shortestEdge };
}

/**
 * How one image of a given size becomes the model's input when the centre crop lies inside the
 * resized image (CLIP's configs: shortest edge >= crop): Pillow's kernels for just the cropped window,
 * and the uint8 -> float table of each channel. Resizers outside this file (the edge-vit engine's
 * WASM) follow it to produce the same floats as preprocess().
 */
export interface PreprocessPlan {
  /** The crop, in the resized image's pixels. */
  readonly window: CropBox;
  readonly kernels: ResizeKernels;
  /** Output float per channel and uint8 value: [3 * 256]. */
  readonly lut: Float32Array;
}

export class ClipImageProcessor {
  readonly doResize: boolean;
  readonly size: ResizeTarget;
  readonly resample: PillowFilter;
  readonly cropSize: CropSize;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  /** uint8 value -> output float per channel (rescale and normalise are per-pixel maps of 256 inputs). */
  private readonly lut: Float32Array;

  private constructor(config: z.infer<typeof ConfigSchema>) {
    this.doResize = config.do_resize ?? true;
    this.size = toResizeTarget(config.size ?? { shortest_edge: 224 });
    const resample = config.resample ?? PillowFilter.BICUBIC;
    if (!SUPPORTED_RESAMPLE.has(resample)) {
      throw new CheckpointError(
        `preprocessor_config.json: resample ${resample} is not supported; use 3 (bicubic, CLIP's default), 2 (bilinear), 1 (lanczos), 4 (box) or 5 (hamming).`,
      );
    }
    this.resample = resample as PillowFilter;
    if (config.do_center_crop === false) {
      throw new CheckpointError(
        'preprocessor_config.json: do_center_crop=false is not supported: the image encoder needs a fixed input size, so set do_center_crop to true with a crop_size.',
      );
    }
    this.cropSize = toCropSize(config.crop_size ?? { height: 224, width: 224 });
    this.doRescale = config.do_rescale ?? true;
    this.rescaleFactor = config.rescale_factor ?? 1 / 255;
    this.doNormalize = config.do_normalize ?? true;
    this.imageMean = perChannel(config.image_mean ?? OPENAI_CLIP_MEAN);
    this.imageStd = perChannel(config.image_std ?? OPENAI_CLIP_STD);
    if (this.doNormalize && this.imageStd.some((s) => s === 0)) {
      throw new CheckpointError('preprocessor_config.json: image_std must not contain 0.');
    }
    this.lut = this.buildLut();
  }

  /** Builds a processor from the parsed contents of preprocessor_config.json. */
  static fromConfig(json: unknown): ClipImageProcessor {
    const parsed = ConfigSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new CheckpointError(`preprocessor_config.json is not a valid CLIP image processor config: ${issues}.`);
    }
    return new ClipImageProcessor(parsed.data);
  }

  private buildLut(): Float32Array {
    const lut = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) {
      // normalize() casts mean and std to the image dtype (float32) and computes in float32.
      const mean = Math.fround(this.imageMean[c] as number);
      const std = Math.fround(this.imageStd[c] as number);
      for (let v = 0; v < 256; v++) {
        // rescale(): float64 product, then cast to float32.
        let x = this.doRescale ? Math.fround(v * this.rescaleFactor) : v;
        if (this.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
        lut[c * 256 + v] = x;
      }
    }
    return lut;
  }

  /** The uint8 image the model sees before rescaling: resized, then centre-cropped (zero-padded if too small). */
  resizeAndCrop(img: RgbImage): RgbImage {
    assertRgbImage(img);
    if (!this.doResize) return centerCrop(img, this.cropSize);
    const size = this.resizedSize(img.width, img.height);
    const window = cropWindow(size, this.cropSize);
    // Only the cropped window is resampled: the same bytes as resizing everything and cropping.
    if (window !== null) return pillowResize(img, size.width, size.height, { filter: this.resample, window });
    return centerCrop(pillowResize(img, size.width, size.height, { filter: this.resample }), this.cropSize);
  }

  /** The plan for a `width` x `height` image, or null when the crop is not inside the resized image (padding) or resizing is off. */
  plan(width: number, height: number): PreprocessPlan | null {
    if (!this.doResize) return null;
    const size = this.resizedSize(width, height);
    const window = cropWindow(size, this.cropSize);
    if (window === null) return null;
    return { window, kernels: resizeKernels(width, height, size.width, size.height, this.resample, window), lut: this.lut };
  }

  /** One image -> Float32Array [3, cropHeight, cropWidth]. */
  preprocess(img: RgbImage): Float32Array {
    const out = new Float32Array(3 * this.cropSize.height * this.cropSize.width);
    this.writeChw(this.resizeAndCrop(img), out, 0);
    return out;
  }

  /** N images -> Float32Array [N, 3, cropHeight, cropWidth]. */
  preprocessBatch(imgs: readonly RgbImage[]): Float32Array {
    const per = 3 * this.cropSize.height * this.cropSize.width;
    const out = new Float32Array(imgs.length * per);
    imgs.forEach((img, i) => this.writeChw(this.resizeAndCrop(img), out, i * per));
    return out;
  }

  private resizedSize(width: number, height: number): { width: number; height: number } {
    return 'shortestEdge' in this.size ? shortestEdgeOutputSize(width, height, this.size.shortestEdge) : this.size;
  }

  private writeChw(img: RgbImage, out: Float32Array, offset: number): void {
    const plane = img.width * img.height;
    const { data } = img;
    const lut = this.lut;
    for (let i = 0; i < plane; i++) {
      out[offset + i] = lut[data[i * 3] as number] as number;
      out[offset + plane + i] = lut[256 + (data[i * 3 + 1] as number)] as number;
      out[offset + 2 * plane + i] = lut[512 + (data[i * 3 + 2] as number)] as number;
    }
  }
}

/** center_crop's rectangle when it lies inside the image, else null (the crop needs padding). */
function cropWindow(img: { width: number; height: number }, crop: CropSize): CropBox | null {
  const top = Math.floor((img.height - crop.height) / 2);
  const left = Math.floor((img.width - crop.width) / 2);
  if (top < 0 || left < 0) return null;
  return { left, top, width: crop.width, height: crop.height };
}

/**
 * transformers.image_transforms.center_crop: offset floor((size - crop) / 2); where the crop reaches
 * past the image (image smaller than the crop) the pixels are 0, as HF pads with zeros before rescaling.
 */
export function centerCrop(img: RgbImage, crop: CropSize): RgbImage {
  const top = Math.floor((img.height - crop.height) / 2);
  const left = Math.floor((img.width - crop.width) / 2);
  if (top === 0 && left === 0 && crop.height === img.height && crop.width === img.width) return img;
  const out = new Uint8Array(crop.width * crop.height * 3);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(crop.width, img.width - left);
  for (let r = 0; r < crop.height; r++) {
    const sy = top + r;
    if (sy < 0 || sy >= img.height || x1 <= x0) continue;
    const src = (sy * img.width + left + x0) * 3;
    out.set(img.data.subarray(src, src + (x1 - x0) * 3), (r * crop.width + x0) * 3);
  }
  return { width: crop.width, height: crop.height, data: out };
}
