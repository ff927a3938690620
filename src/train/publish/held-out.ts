/**
 * Splitting a tenant's image folder into training images and held-out images (when no
 * --eval-data is given), and capping --shots by what the classes have.
 *
 * Rule, per class of n images: hold out round(fraction * n) images, at least 1, but never so many
 * that fewer than K (the effective shot count) are left for training. K itself is capped so that
 * every class can give one held-out image: K <= min(n) - 1. The pick is a seeded shuffle per class
 * of the name-sorted file list, so the same data and seed give the same split on every machine.
 */
import { DataError } from '../../core/errors.ts';
import type { ImageFolder, ImageItem } from '../data/image-folder.ts';
import { rngFor, shuffled } from '../random.ts';

export const DEFAULT_HELD_OUT_FRACTION = 0.2;

export interface ClassSplit {
  label: string;
  total: number;
  heldOut: number;
  /** Images left for training (the trainer samples `shots` of them). */
  pool: number;
}

export interface HeldOutSplit {
  /** The images training may draw from (every class keeps at least `shots`). */
  pool: ImageFolder;
  heldOut: ImageFolder;
  shots: number;
  requestedShots: number;
  perClass: ClassSplit[];
  /** One sentence for the user saying what was done. */
  description: string;
}

function countPerClass(folder: ImageFolder): number[] {
  const counts = new Array<number>(folder.labels.length).fill(0);
  for (const it of folder.items) counts[it.labelIndex]! += 1;
  return counts;
}

/**
 * The shot count actually used: the request, capped by the smallest class minus `reserve` (the
 * images that class must keep for evaluation). Throws when some class cannot give a single
 * training image.
 */
export function effectiveShots(requested: number, folder: ImageFolder, reserve: number): number {
  const counts = countPerClass(folder);
  let minIdx = 0;
  counts.forEach((n, c) => { if (n < counts[minIdx]!) minIdx = c; });
  const smallest = counts[minIdx]!;
  if (smallest - reserve < 1) {
    const label = folder.labels[minIdx]!;
    throw new DataError(
      reserve > 0
        ? `class "${label}" has only ${smallest} image(s) in ${folder.root}: at least ${reserve + 1} are needed (1 to train on, ${reserve} held out to check the result), or pass --eval-data DIR with separate evaluation images.`
        : `class "${label}" has no image in ${folder.root}.`,
    );
  }
  return Math.min(requested, smallest - reserve);
}

export function splitHeldOut(folder: ImageFolder, opts: { requestedShots: number; seed: number; fraction?: number }): HeldOutSplit {
  const fraction = opts.fraction ?? DEFAULT_HELD_OUT_FRACTION;
  if (!(fraction > 0 && fraction < 1)) throw new DataError(`held-out fraction must be between 0 and 1, got ${fraction}.`);
  const shots = effectiveShots(opts.requestedShots, folder, 1);
  const poolItems: ImageItem[] = [];
  const heldItems: ImageItem[] = [];
  const perClass: ClassSplit[] = folder.labels.map((label, c) => {
    const items = folder.items.filter((it) => it.labelIndex === c);
    const n = items.length;
    const h = Math.min(Math.max(1, Math.round(fraction * n)), n - shots);
    const order = shuffled(items, rngFor(opts.seed, 'heldout', label));
    heldItems.push(...order.slice(0, h));
    poolItems.push(...order.slice(h));
    return { label, total: n, heldOut: h, pool: n - h };
  });
  const byPath = (a: ImageItem, b: ImageItem) => a.labelIndex - b.labelIndex || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  poolItems.sort(byPath);
  heldItems.sort(byPath);
  const pct = Math.round(fraction * 100);
  const same = perClass.every((p) => p.heldOut === perClass[0]!.heldOut && p.total === perClass[0]!.total);
  const what = same
    ? `${perClass[0]!.heldOut} of ${perClass[0]!.total} images per class`
    : `${heldItems.length} of ${folder.items.length} images (${perClass.map((p) => `${p.label} ${p.heldOut}/${p.total}`).join(', ')})`;
  const capped = shots < opts.requestedShots ? `; --shots ${opts.requestedShots} capped to ${shots} so every class keeps a held-out image` : '';
  return {
    pool: { root: folder.root, labels: folder.labels, items: poolItems },
    heldOut: { root: folder.root, labels: folder.labels, items: heldItems },
    shots,
    requestedShots: opts.requestedShots,
    perClass,
    description: `no --eval-data: held out ${what} (about ${pct}%, at least 1 per class, seed ${opts.seed}) to evaluate on; training draws ${shots} per class from the rest${capped}.`,
  };
}
