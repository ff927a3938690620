/**
 * A whole CoOp job, from an image folder to a label-set artifact: few-shot sampling, cached
 * (augmented) image features, the zero-shot baseline, training, evaluation and baking.
 * Used by `prompt-edge train` and by `train-and-publish`.
 */
import { DataError } from '../../core/errors.ts';
import { contentVersion, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE } from '../../core/templates.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import { checkImageFiles, loadImages, scanImageFolder, type ImageFolder } from '../data/image-folder.ts';
import { evaluateEmbeddings, mapDatasetLabels, type EvalResult } from '../evaluate.ts';
import { augmentedFeatures, plainFeatures } from '../features/extract.ts';
import { FeatureCache } from '../features/feature-cache.ts';
import { ImageTower } from '../image-tower.ts';
import { buildPromptLabelSet } from '../labelset-builder.ts';
import { assertDeviceAvailable, type Device } from '../ort-node.ts';
import { TextTower } from '../text-tower.ts';
import { defaultEpochs } from './sgd.ts';
import { COOP_DEFAULTS, flipLabels, sampleFewShot, trainCoop, type CoopOptions, type EpochReport } from './trainer.ts';

export interface CoopJobOptions extends Partial<CoopOptions> {
  shots: number;
  seed: number;
  dataDir: string;
  /** Folder to evaluate on; omitted = no evaluation. */
  evalDir?: string | undefined;
  augViews: number;
  device: Device;
  skipBadImages: boolean;
  cacheDir?: string | undefined;
  /** Fraction of training labels replaced by a wrong class (robustness study); default 0. */
  labelNoise?: number;
  /** Train on these items instead of sampling `shots` per class from dataDir. */
  trainSubset?: ImageFolder;
}

export interface CoopJobUi {
  warn(message: string): void;
  /** `extraFormat` adds cli-progress placeholders filled from update()'s payload, e.g. ' loss {loss}'. */
  progress(title: string, total: number, extraFormat?: string): { update(done: number, payload?: Record<string, string | number>): void; stop(): void };
}

export interface CoopJobResult {
  artifact: LabelSetArtifact;
  zeroshotArtifact: LabelSetArtifact;
  lossPerEpoch: number[];
  accuracyPerEpoch: number[];
  eval?: { coop: EvalResult; zeroshot: EvalResult; files: string[] };
  seconds: number;
  trainSeconds: number;
  epochs: number;
  steps: number;
  trainN: number;
  cache: { hits: number; misses: number };
}

export async function runCoopJob(ckpt: ClipCheckpoint, o: CoopJobOptions, ui: CoopJobUi): Promise<CoopJobResult> {
  const t0 = performance.now();
  assertDeviceAvailable(o.device);
  const opts: CoopOptions = { ...COOP_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as CoopOptions;
  opts.epochs ??= defaultEpochs(o.shots);
  const folder = o.trainSubset ?? checkImageFiles(scanImageFolder(o.dataDir), { skipBadImages: o.skipBadImages, onWarning: ui.warn });
  const evalFolder = o.evalDir ? checkImageFiles(scanImageFolder(o.evalDir, { minClasses: 1 }), { skipBadImages: o.skipBadImages, onWarning: ui.warn }) : undefined;
  const evalMap = evalFolder ? mapDatasetLabels(evalFolder.labels, folder.labels, evalFolder.root) : undefined;
  const picked = o.trainSubset ? [...folder.items] : sampleFewShot(folder.items, folder.labels, o.shots, o.seed, folder.root);

  const imageTower = await ImageTower.create(ckpt, { device: o.device });
  // Small text towers (the 128-wide default) run fastest on one thread: per-op work is too small
  // to amortise thread hand-offs. Real-size towers use onnxruntime's default.
  const textTower = await TextTower.create(ckpt, { device: o.device, ...(ckpt.config.text_config.hidden_size <= 256 ? { intraOpThreads: 1 } : {}) });
  try {
    const cache = new FeatureCache(o.cacheDir, ckpt.visionSha256, ckpt.config.projection_dim);
    let bar = ui.progress('load train images', picked.length);
    const trainImages = await loadImages(picked, { skipBadImages: o.skipBadImages, onWarning: ui.warn, onProgress: (d) => bar.update(d) });
    bar.stop();
    for (let c = 0; c < folder.labels.length; c++) {
      if (!trainImages.some((im) => im.item.labelIndex === c)) throw new DataError(`no usable training image left for class "${folder.labels[c]}" in ${folder.root}.`);
    }
    // View 0 of every image is the image itself (CLIP preprocessing); views 1..N are CoOp's random
    // resized crops + flips. On 32-px images the crops alone cost accuracy (docs/results.md), so the
    // unaugmented view is always in the pool.
    bar = ui.progress('train features', trainImages.length * (1 + o.augViews));
    const plain = await plainFeatures(imageTower, cache, trainImages);
    const aug = o.augViews > 0 ? await augmentedFeatures(imageTower, cache, trainImages, o.augViews, o.seed, { onProgress: (d) => bar.update(trainImages.length + d) }) : [];
    const feats = plain.map((f, i) => [f, ...(aug[i] ?? [])]);
    bar.update(trainImages.length * (1 + o.augViews));
    bar.stop();
    let labels = trainImages.map((im) => im.item.labelIndex);
    if (o.labelNoise) labels = flipLabels(labels, folder.labels.length, o.labelNoise, o.seed);

    let evalData: { feats: Float32Array[]; truth: number[]; files: string[] } | undefined;
    if (evalFolder && evalMap) {
      bar = ui.progress('load eval images', evalFolder.items.length);
      const evalImages = await loadImages(evalFolder.items, { skipBadImages: o.skipBadImages, onWarning: ui.warn, onProgress: (d) => bar.update(d) });
      bar.stop();
      bar = ui.progress('eval features', evalImages.length);
      const evalFeats = await plainFeatures(imageTower, cache, evalImages, { onProgress: (d) => bar.update(d) });
      bar.stop();
      evalData = { feats: evalFeats, truth: evalImages.map((im) => evalMap[im.item.labelIndex]!), files: evalImages.map((im) => im.item.path) };
    }

    const zeroshotArtifact = await buildPromptLabelSet(ckpt, textTower, folder.labels, [CLIP_SINGLE_TEMPLATE], 'zeroshot');
    const epochsBar = ui.progress('train (epochs)', opts.epochs ?? 0, ' loss {loss} acc {acc}%');
    const tTrain = performance.now();
    const result = await trainCoop(folder.labels, ckpt.tokenizer, textTower, ckpt.logitScale, feats, labels, opts, (r: EpochReport) => {
      epochsBar.update(r.epoch + (r.step === r.stepsPerEpoch ? 1 : 0), { loss: r.loss.toFixed(4), acc: (r.accuracy * 100).toFixed(1) });
    });
    epochsBar.stop();
    const trainSeconds = (performance.now() - tTrain) / 1000;

    const learner = result.learner;
    const base: Omit<LabelSetArtifact, 'metrics'> = {
      labels: [...folder.labels],
      modelId: ckpt.modelId,
      modelSha256: ckpt.visionSha256,
      logitScale: ckpt.logitScale,
      method: 'coop',
      createdAt: new Date().toISOString(),
      version: await contentVersion(result.classEmbeddings, folder.labels),
      classEmbeddings: result.classEmbeddings,
      dim: ckpt.config.projection_dim,
      ctx: { data: learner.ctx.slice(), shape: learner.ctxShape },
      extra: {
        n_ctx: String(learner.nCtx),
        csc: String(learner.csc),
        class_token_position: learner.classTokenPosition,
        ctx_init: learner.ctxInit ?? '',
        shots: String(o.shots),
        seed: String(o.seed),
        epochs: String(result.epochs),
        aug_views: String(o.augViews),
        ...(o.labelNoise ? { label_noise: String(o.labelNoise) } : {}),
      },
    };
    let evalOut: CoopJobResult['eval'];
    const metrics: Record<string, unknown> = { train_n: trainImages.length, final_loss: result.lossPerEpoch.at(-1) ?? null };
    if (evalData) {
      const coop = evaluateEmbeddings(evalData.feats, evalData.truth, { ...base, metrics: {} });
      const zeroshot = evaluateEmbeddings(evalData.feats, evalData.truth, zeroshotArtifact);
      evalOut = { coop, zeroshot, files: evalData.files };
      Object.assign(metrics, { accuracy: coop.accuracy, zeroshot_accuracy: zeroshot.accuracy, eval_n: coop.n });
    }
    return {
      artifact: { ...base, metrics },
      zeroshotArtifact,
      lossPerEpoch: result.lossPerEpoch,
      accuracyPerEpoch: result.accuracyPerEpoch,
      ...(evalOut ? { eval: evalOut } : {}),
      seconds: (performance.now() - t0) / 1000,
      trainSeconds,
      epochs: result.epochs,
      steps: result.steps,
      trainN: trainImages.length,
      cache: { hits: cache.hits, misses: cache.misses },
    };
  } finally {
    await imageTower.dispose();
    await textTower.dispose();
  }
}
