/**
 * Training augmentations in torchvision's semantics, on RGB images, resizing with the Pillow-exact
 * bicubic filter (torchvision's PIL backend crops, then calls Image.resize).
 */
import { InvalidArgumentError } from '../errors.ts';
import { pillowResize, PillowFilter } from './pillow-resize.ts';
import { assertRgbImage, cropImage, type CropBox, type RgbImage } from './rgb-image.ts';

export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image area, e.g. [0.08, 1]. */
  scale: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height), e.g. [3/4, 4/3]; sampled log-uniformly. */
  ratio: readonly [number, number];
  /** Output side length: the crop is resized to size x size. */
  size: number;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision.transforms.RandomResizedCrop.get_params: up to 10 tries at a random area and log-uniform
 * aspect ratio that fit in the image, then a centre crop clamped to the ratio range. `rng` returns
 * uniform numbers in [0, 1); the same rng sequence always gives the same box.
 */
export function randomResizedCropBox(width: number, height: number, rng: () => number, scale: readonly [number, number], ratio: readonly [number, number]): CropBox {
  const area = height * width;
  const logRatio0 = Math.log(ratio[0]);
  const logRatio1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * rng());
    const aspect = Math.exp(logRatio0 + (logRatio1 - logRatio0) * rng());
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      // torch.randint(0, n + 1): uniform over 0..n.
      const top = Math.floor(rng() * (height - h + 1));
      const left = Math.floor(rng() * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  const minRatio = Math.min(ratio[0], ratio[1]);
  const maxRatio = Math.max(ratio[0], ratio[1]);
  let w: number;
  let h: number;
  if (inRatio < minRatio) {
    w = width;
    h = roundHalfEven(w / minRatio);
  } else if (inRatio > maxRatio) {
    h = height;
    w = roundHalfEven(h * maxRatio);
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** RandomResizedCrop: a random box (randomResizedCropBox), cropped and resized to size x size with Pillow bicubic. */
export function randomResizedCrop(img: RgbImage, rng: () => number, opts: RandomResizedCropOptions): RgbImage {
  assertRgbImage(img, 'randomResizedCrop input');
  const { scale, ratio, size } = opts;
  if (!Number.isInteger(size) || size <= 0) throw new InvalidArgumentError(`randomResizedCrop size must be a positive integer, got ${size}.`);
  if (!(scale[0] > 0 && scale[0] <= scale[1])) throw new InvalidArgumentError(`randomResizedCrop scale must satisfy 0 < min <= max, got [${scale.join(', ')}].`);
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) throw new InvalidArgumentError(`randomResizedCrop ratio must satisfy 0 < min <= max, got [${ratio.join(', ')}].`);
  const box = randomResizedCropBox(img.width, img.height, rng, scale, ratio);
  return pillowResize(cropImage(img, box), size, size, { filter: PillowFilter.BICUBIC });
}

/** Mirrors the image left-right (PIL's Image.transpose(FLIP_LEFT_RIGHT)). */
export function horizontalFlip(img: RgbImage): RgbImage {
  assertRgbImage(img, 'horizontalFlip input');
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const s = row + x * 3;
      const d = row + (width - 1 - x) * 3;
      out[d] = data[s] as number;
      out[d + 1] = data[s + 1] as number;
      out[d + 2] = data[s + 2] as number;
    }
  }
  return { width, height, data: out };
}
