/**
 * Image features for training and evaluation: plain (CLIP preprocessing) or augmented views
 * (CoOp's random resized crop, scale 0.08-1, + horizontal flip), cached by content hash.
 */
import { horizontalFlip, randomResizedCrop } from '../../core/image/random-resized-crop.ts';
import type { RgbImage } from '../../core/image/rgb-image.ts';
import type { LoadedImage } from '../data/image-folder.ts';
import type { ImageTower } from '../image-tower.ts';
import { rngFor } from '../random.ts';
import { contentHash, FeatureCache } from './feature-cache.ts';

export interface ExtractOptions {
  onProgress?: (done: number, total: number) => void;
  batchSize?: number;
}

async function extract(
  tower: ImageTower,
  cache: FeatureCache,
  jobs: { key: string; make: () => RgbImage }[],
  opts: ExtractOptions,
): Promise<Float32Array[]> {
  const out: (Float32Array | undefined)[] = jobs.map((j) => cache.get(j.key));
  const todo = jobs.map((j, i) => ({ ...j, i })).filter((j) => out[j.i] === undefined);
  const bs = opts.batchSize ?? 64;
  let done = jobs.length - todo.length;
  opts.onProgress?.(done, jobs.length);
  for (let s = 0; s < todo.length; s += bs) {
    const chunk = todo.slice(s, s + bs);
    const feats = await tower.embedImages(chunk.map((j) => j.make()), bs);
    chunk.forEach((j, k) => {
      out[j.i] = feats[k]!;
      cache.put(j.key, feats[k]!);
    });
    done += chunk.length;
    opts.onProgress?.(done, jobs.length);
  }
  return out as Float32Array[];
}

/** Content hash, plus the EXIF orientation applied when there was one (files without keep their old keys). */
function imageKey(im: LoadedImage): string {
  const h = contentHash(im.bytes);
  return im.orientation === 1 ? h : `${h}-o${im.orientation}`;
}

/** L2-normalised features of each image with CLIP's own preprocessing (evaluation). */
export function plainFeatures(tower: ImageTower, cache: FeatureCache, images: readonly LoadedImage[], opts: ExtractOptions = {}): Promise<Float32Array[]> {
  return extract(tower, cache, images.map((im) => ({ key: `${imageKey(im)}-plain`, make: () => im.image })), opts);
}

/**
 * `views` augmented views per image; view v of an image is a pure function of (seed, content, v).
 * Returns features indexed [image][view].
 */
export async function augmentedFeatures(
  tower: ImageTower,
  cache: FeatureCache,
  images: readonly LoadedImage[],
  views: number,
  seed: number,
  opts: ExtractOptions = {},
): Promise<Float32Array[][]> {
  const size = tower.cropSize.height;
  const jobs = images.flatMap((im) => {
    const h = imageKey(im);
    return Array.from({ length: views }, (_, v) => ({
      key: `${h}-rrc0.08-flip-s${seed}-v${v}-${size}`,
      make: () => {
        const rng = rngFor(seed, 'augment', h, v);
        const crop = randomResizedCrop(im.image, rng, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], size });
        return rng() < 0.5 ? horizontalFlip(crop) : crop;
      },
    }));
  });
  const flat = await extract(tower, cache, jobs, opts);
  return images.map((_, i) => flat.slice(i * views, (i + 1) * views));
}
