/**
 * The "embed" step: decode a list of images and turn each into its frozen CLIP image feature,
 * through the feature cache. One implementation for training features (with CoOp's augmented
 * views), held-out and evaluation features, and `prompt-edge eval` / `check-live`.
 */
import type { LabelSetArtifact } from '../../core/labelset/artifact.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import { loadImages, scanImageFolder, type ImageItem, type LoadedImage } from '../data/image-folder.ts';
import { evaluateEmbeddings, mapDatasetLabels, type EvalResult } from '../evaluate.ts';
import { augmentedFeatures, plainFeatures } from '../features/extract.ts';
import { FeatureCache } from '../features/feature-cache.ts';
import { ImageTower } from '../image-tower.ts';
import type { Device } from '../ort-node.ts';
import type { StepUi } from './ui.ts';
import type { ExifMode } from '../../core/image/exif-orientation.ts';

export interface EmbedOptions {
  readonly device?: Device | undefined;
  /** Feature cache root; undefined = no disk cache. */
  readonly cacheDir?: string | undefined;
  readonly skipBadImages: boolean;
  /** EXIF orientation of the images (default apply, as the API's ?exif=). */
  readonly exif?: ExifMode | undefined;
}

/** An image tower and a feature cache, opened once for every embed step of a run. */
export interface Embedder {
  readonly imageTower: ImageTower;
  readonly cache: FeatureCache;
  readonly skipBadImages: boolean;
  readonly exif: ExifMode;
  readonly ui: StepUi;
  dispose(): Promise<void>;
}

export async function openEmbedder(ckpt: ClipCheckpoint, o: EmbedOptions, ui: StepUi): Promise<Embedder> {
  const imageTower = await ImageTower.create(ckpt, o.device === undefined ? {} : { device: o.device });
  const cache = new FeatureCache(o.cacheDir, ckpt.visionSha256, ckpt.config.projection_dim);
  return { imageTower, cache, skipBadImages: o.skipBadImages, exif: o.exif ?? 'apply', ui, dispose: () => imageTower.dispose() };
}

/** Runs `f` with an embedder and releases its image tower afterwards. */
export async function withEmbedder<T>(ckpt: ClipCheckpoint, o: EmbedOptions, ui: StepUi, f: (e: Embedder) => Promise<T>): Promise<T> {
  const e = await openEmbedder(ckpt, o, ui);
  try {
    return await f(e);
  } finally {
    await e.dispose();
  }
}

/** Images that decoded, with one L2-normalised feature each (CLIP's own preprocessing). */
export interface EmbeddedImages {
  readonly images: readonly LoadedImage[];
  readonly feats: Float32Array[];
  readonly files: string[];
  /** Each image's class index in the folder it came from. */
  readonly labelIndex: number[];
}

export interface EmbedTitles {
  readonly load: string;
  readonly embed: string;
}

const EVAL_TITLES: EmbedTitles = { load: 'load eval images', embed: 'eval features' };

export async function loadForEmbedding(e: Embedder, items: readonly ImageItem[], title: string): Promise<LoadedImage[]> {
  const bar = e.ui.progress(title, items.length);
  try {
    return await loadImages(items, { skipBadImages: e.skipBadImages, exif: e.exif, onWarning: e.ui.warn, onProgress: (d) => bar.update(d) });
  } finally {
    bar.stop();
  }
}

/** Decodes and embeds `items` (evaluation, held-out, `eval`). */
export async function embedItems(e: Embedder, items: readonly ImageItem[], titles: EmbedTitles = EVAL_TITLES): Promise<EmbeddedImages> {
  const images = await loadForEmbedding(e, items, titles.load);
  const bar = e.ui.progress(titles.embed, images.length);
  const feats = await plainFeatures(e.imageTower, e.cache, images, { onProgress: (d) => bar.update(d) }).finally(() => bar.stop());
  return { images, feats, files: images.map((im) => im.item.path), labelIndex: images.map((im) => im.item.labelIndex) };
}

/**
 * Training features: view 0 of every image is the image itself (CLIP preprocessing); views 1..N
 * are CoOp's random resized crops + flips. On 32-px images the crops alone cost accuracy
 * (docs/results.md), so the unaugmented view is always in the pool. Returns [image][view].
 */
export async function embedTrainingViews(e: Embedder, images: readonly LoadedImage[], augViews: number, seed: number): Promise<Float32Array[][]> {
  const bar = e.ui.progress('train features', images.length * (1 + augViews));
  try {
    const plain = await plainFeatures(e.imageTower, e.cache, images);
    const aug = augViews > 0 ? await augmentedFeatures(e.imageTower, e.cache, images, augViews, seed, { onProgress: (d) => bar.update(images.length + d) }) : [];
    bar.update(images.length * (1 + augViews));
    return plain.map((f, i) => [f, ...(aug[i] ?? [])]);
  } finally {
    bar.stop();
  }
}

/** The "evaluate" step: a label set on embedded images whose folder classes map onto its labels by `toArtifact`. */
export function evaluateEmbedded(embedded: EmbeddedImages, toArtifact: readonly number[], artifact: LabelSetArtifact): EvalResult {
  return evaluateEmbeddings(embedded.feats, embedded.labelIndex.map((c) => toArtifact[c]!), artifact);
}

/** Embed a folder (DIR/<label>/<images>) and evaluate a label set on it: `prompt-edge eval` and `check-live`. */
export async function embedAndEvaluateFolder(ckpt: ClipCheckpoint, artifact: LabelSetArtifact, dataDir: string, o: EmbedOptions, ui: StepUi): Promise<EvalResult & { files: string[] }> {
  const folder = scanImageFolder(dataDir, { minClasses: 1 });
  const toArtifact = mapDatasetLabels(folder.labels, artifact.labels, folder.root);
  const embedded = await withEmbedder(ckpt, o, ui, (e) => embedItems(e, folder.items, { load: 'decode', embed: 'embed' }));
  return { ...evaluateEmbedded(embedded, toArtifact, artifact), files: embedded.files };
}
