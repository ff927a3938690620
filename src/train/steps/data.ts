/**
 * The "check data" and "split" steps. Layout errors (missing folder, empty class, < 2 classes,
 * duplicate names) and unreadable or non-image files surface in `checkData`, before any split or
 * training, so no seed can hide them.
 */
import { checkImageFiles, scanImageFolder, type ImageFolder } from '../data/image-folder.ts';
import { mapDatasetLabels } from '../evaluate.ts';
import { effectiveShots, splitHeldOut, type ClassSplit } from '../publish/held-out.ts';
import type { StepUi } from './ui.ts';

export interface DataOptions {
  /** Training folder: DIR/<label>/<images>. */
  readonly data: string;
  /** Separate evaluation folder; omitted = none (or a held-out split, see `splitData`). */
  readonly evalData?: string | undefined;
  readonly skipBadImages: boolean;
}

export interface CheckedData {
  readonly train: ImageFolder;
  /** The evaluation folder, with each of its classes mapped to a training class. */
  readonly eval?: { readonly folder: ImageFolder; readonly toTrainLabel: number[] } | undefined;
}

export function checkData(o: DataOptions, ui: Pick<StepUi, 'warn'>): CheckedData {
  const train = checkImageFiles(scanImageFolder(o.data), { skipBadImages: o.skipBadImages, onWarning: ui.warn });
  return o.evalData ? { train, eval: checkEvalData(o.evalData, train, o.skipBadImages, ui) } : { train };
}

/** An evaluation folder: it may hold a subset of the training classes, each mapped to its training class. */
export function checkEvalData(dir: string, train: ImageFolder, skipBadImages: boolean, ui: Pick<StepUi, 'warn'>): NonNullable<CheckedData['eval']> {
  const folder = checkImageFiles(scanImageFolder(dir, { minClasses: 1 }), { skipBadImages, onWarning: ui.warn });
  return { folder, toTrainLabel: mapDatasetLabels(folder.labels, train.labels, folder.root) };
}

/** Where the training images come from and what the run is evaluated on. */
export interface DataSplit {
  readonly source: 'held-out' | 'eval-data';
  /** The images training may draw from. */
  readonly pool: ImageFolder;
  readonly eval: ImageFolder;
  /** eval class index -> training class index. */
  readonly evalToTrainLabel: number[];
  /** Shots per class actually used (the request, capped by the smallest class). */
  readonly shots: number;
  /** One sentence for the user saying what was done. */
  readonly description: string;
  /** Per-class counts of a held-out split; null with --eval-data. */
  readonly perClass: ClassSplit[] | null;
}

/** --eval-data when given; otherwise about 20% of each class held out (seeded). */
export function splitData(checked: CheckedData, o: { shots: number; seed: number }): DataSplit {
  const folder = checked.train;
  if (checked.eval) {
    const evalFolder = checked.eval.folder;
    const shots = effectiveShots(o.shots, folder, 0);
    return {
      source: 'eval-data', pool: folder, eval: evalFolder, evalToTrainLabel: checked.eval.toTrainLabel, shots, perClass: null,
      description: `evaluating on --eval-data ${evalFolder.root} (${evalFolder.items.length} images)` +
        (shots < o.shots ? `; --shots ${o.shots} capped to ${shots}, the size of the smallest class` : '') + '.',
    };
  }
  const split = splitHeldOut(folder, { requestedShots: o.shots, seed: o.seed });
  return {
    source: 'held-out', pool: split.pool, eval: split.heldOut, evalToTrainLabel: folder.labels.map((_, i) => i),
    shots: split.shots, description: split.description, perClass: split.perClass,
  };
}
