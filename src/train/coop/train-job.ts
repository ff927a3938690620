/**
 * A whole CoOp job, from an image folder to a label-set artifact, as the named steps of
 * src/train/steps: check data, sample the shots, embed (cached, augmented views), train (with the
 * zero-shot baseline), evaluate. Used by `prompt-edge train`; `train-and-publish` runs the same
 * steps with its own split, gate and publishing (publish/pipeline.ts).
 */
import type { LabelSetArtifact } from '../../core/labelset/artifact.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import type { ImageFolder } from '../data/image-folder.ts';
import type { EvalResult } from '../evaluate.ts';
import { assertDeviceAvailable, type Device } from '../ort-node.ts';
import { checkData, checkEvalData, type CheckedData } from '../steps/data.ts';
import { embedItems, evaluateEmbedded, withEmbedder } from '../steps/embed.ts';
import { coopHead, fitHead, type CoopSettings, type HeadMethod } from '../steps/train.ts';
import type { AutoSelection } from '../heads/auto.ts';
import type { StepUi } from '../steps/ui.ts';
import { sampleFewShot } from './trainer.ts';
import type { ExifMode } from '../../core/image/exif-orientation.ts';

export interface CoopJobOptions extends Omit<CoopSettings, 'csc' | 'classTokenPosition' | 'augViews'>, Partial<Pick<CoopSettings, 'csc' | 'classTokenPosition'>> {
  shots: number;
  seed: number;
  dataDir: string;
  /** Folder to evaluate on; omitted = no evaluation. */
  evalDir?: string | undefined;
  augViews: number;
  device: Device;
  skipBadImages: boolean;
  /** EXIF orientation of the training and evaluation images (default apply, as the API). */
  exif?: ExifMode;
  cacheDir?: string | undefined;
  /** Train on these items instead of sampling `shots` per class from dataDir. */
  trainSubset?: ImageFolder;
  /** The head to train (heads/methods.ts, heads/auto.ts); default CoOp with the settings above. */
  method?: HeadMethod | undefined;
}

export type CoopJobUi = StepUi;

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
  /** `--method auto`: the candidates' cross-validated scores and the winner. */
  selection?: AutoSelection | undefined;
}

export async function runCoopJob(ckpt: ClipCheckpoint, o: CoopJobOptions, ui: CoopJobUi): Promise<CoopJobResult> {
  const t0 = performance.now();
  assertDeviceAvailable(o.device);
  const data: CheckedData = o.trainSubset
    ? { train: o.trainSubset, ...(o.evalDir ? { eval: checkEvalData(o.evalDir, o.trainSubset, o.skipBadImages, ui) } : {}) }
    : checkData({ data: o.dataDir, evalData: o.evalDir, skipBadImages: o.skipBadImages }, ui);
  const folder = data.train;
  const picked = o.trainSubset ? [...folder.items] : sampleFewShot(folder.items, folder.labels, o.shots, o.seed, folder.root);
  const method = o.method ?? coopHead({
    nCtx: o.nCtx, ctxInit: o.ctxInit, csc: o.csc ?? false, classTokenPosition: o.classTokenPosition ?? 'end', epochs: o.epochs,
    lr: o.lr, batchSize: o.batchSize, augViews: o.augViews, labelNoise: o.labelNoise,
  });

  return withEmbedder(ckpt, { device: o.device, cacheDir: o.cacheDir, skipBadImages: o.skipBadImages, exif: o.exif }, ui, async (embedder) => {
    // Evaluation images are decoded before training, so a bad file fails the job before the expensive part.
    const evalSet = data.eval ? await embedItems(embedder, data.eval.folder.items) : undefined;
    const fitted = await fitHead(method, { labels: folder.labels, root: folder.root, items: picked, shots: o.shots, seed: o.seed }, embedder, { ckpt, device: o.device });
    const { head, zeroshot } = fitted;
    const metrics: Record<string, unknown> = { train_n: fitted.trainN, final_loss: head.lossPerEpoch.at(-1) ?? null };
    let evalOut: CoopJobResult['eval'];
    if (evalSet && data.eval) {
      const coop = evaluateEmbedded(evalSet, data.eval.toTrainLabel, head.artifact);
      const zs = evaluateEmbedded(evalSet, data.eval.toTrainLabel, zeroshot);
      evalOut = { coop, zeroshot: zs, files: evalSet.files };
      Object.assign(metrics, { accuracy: coop.accuracy, zeroshot_accuracy: zs.accuracy, eval_n: coop.n });
    }
    return {
      artifact: { ...head.artifact, metrics },
      zeroshotArtifact: zeroshot,
      lossPerEpoch: head.lossPerEpoch,
      accuracyPerEpoch: head.accuracyPerEpoch,
      ...(evalOut ? { eval: evalOut } : {}),
      seconds: (performance.now() - t0) / 1000,
      trainSeconds: head.trainSeconds,
      epochs: head.epochs,
      steps: head.steps,
      trainN: fitted.trainN,
      cache: { hits: embedder.cache.hits, misses: embedder.cache.misses },
      ...(head.selection ? { selection: head.selection } : {}),
    };
  });
}
