/**
 * `prompt-edge train --unlabeled DIR --labels a,b,c`: a head from unlabelled images and class names.
 * Steps: scan DIR (every image file below it, any layout), embed, PET soft labels from the prompt
 * ensemble, keep the K most confident images per class (UPL), train the head, and, with
 * --eval-data, measure it against zero-shot on labelled images.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { DataError } from '../../core/errors.ts';
import type { ExifMode } from '../../core/image/exif-orientation.ts';
import type { LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { DEFAULT_ENSEMBLE_TEMPLATES } from '../../core/templates.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import type { ImageItem } from '../data/image-folder.ts';
import type { EvalResult } from '../evaluate.ts';
import { embedClassPrompts, buildPromptLabelSet } from '../labelset-builder.ts';
import { CLIP_SINGLE_TEMPLATE } from '../../core/templates.ts';
import { assertDeviceAvailable, type Device } from '../ort-node.ts';
import { checkEvalData } from '../steps/data.ts';
import { embedItems, evaluateEmbedded, withEmbedder } from '../steps/embed.ts';
import type { StepUi } from '../steps/ui.ts';
import { TextTower } from '../text-tower.ts';
import { crossValidate, pickWinner, AUTO_CANDIDATES, type AutoSelection } from './auto.ts';
import { headArtifact, trainFeatureHead, type FeatureHeadId } from './methods.ts';
import type { TextPrior } from './types.ts';
import { pseudoLabel, type PseudoLabelKind } from './unlabeled.ts';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.avif']);

/** Every image file below `dir` (by extension), sorted by path so that runs are reproducible. */
export function scanUnlabeledFolder(dir: string): string[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataError(`--unlabeled folder not found: ${root}`);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(root);
  if (out.length === 0) throw new DataError(`no image files (${[...IMAGE_EXTENSIONS].join(', ')}) found under ${root}.`);
  return out.sort();
}

export interface UnlabeledJobOptions {
  unlabeledDir: string;
  labels: readonly string[];
  method: FeatureHeadId | 'auto';
  /** Images kept per class (UPL's K). */
  perClass: number;
  pseudoLabels: PseudoLabelKind;
  seed: number;
  evalDir?: string | undefined;
  device: Device;
  skipBadImages: boolean;
  cacheDir?: string | undefined;
  /** EXIF orientation of the images (default apply, as the API's ?exif=). */
  exif?: ExifMode | undefined;
}

export interface UnlabeledJobResult {
  artifact: LabelSetArtifact;
  unlabeledN: number;
  keptPerClass: number[];
  /** With --eval-data: how often the kept images' pseudo-labels were right is unknown (no labels); accuracy of the head and of zero-shot on the eval images. */
  eval?: { head: EvalResult; zeroshot: EvalResult };
  selection?: AutoSelection;
  seconds: number;
  trainSeconds: number;
}

export async function runUnlabeledJob(ckpt: ClipCheckpoint, o: UnlabeledJobOptions, ui: StepUi): Promise<UnlabeledJobResult> {
  const t0 = performance.now();
  assertDeviceAvailable(o.device);
  const files = scanUnlabeledFolder(o.unlabeledDir);
  const items: ImageItem[] = files.map((path) => ({ path, labelIndex: 0 }));
  const trainFolder = { root: resolve(o.unlabeledDir), labels: o.labels, items };
  const evalData = o.evalDir ? checkEvalData(o.evalDir, trainFolder, o.skipBadImages, ui) : undefined;
  return withEmbedder(ckpt, { device: o.device, cacheDir: o.cacheDir, skipBadImages: o.skipBadImages, exif: o.exif }, ui, async (embedder) => {
    const evalSet = evalData ? await embedItems(embedder, evalData.folder.items) : undefined;
    const unl = await embedItems(embedder, items, { load: 'load unlabelled images', embed: 'unlabelled features' });
    const textTower = await TextTower.create(ckpt, { device: o.device });
    let templates: TextPrior[];
    let zeroshot: LabelSetArtifact;
    let ensemble: TextPrior;
    try {
      templates = [];
      for (const t of DEFAULT_ENSEMBLE_TEMPLATES) templates.push({ classEmbeddings: await embedClassPrompts(ckpt, textTower, o.labels, [t]), dim: textTower.projectionDim, logitScale: ckpt.logitScale });
      zeroshot = await buildPromptLabelSet(ckpt, textTower, o.labels, [CLIP_SINGLE_TEMPLATE], 'zeroshot');
      ensemble = { classEmbeddings: await embedClassPrompts(ckpt, textTower, o.labels, DEFAULT_ENSEMBLE_TEMPLATES), dim: textTower.projectionDim, logitScale: ckpt.logitScale };
    } finally {
      await textTower.dispose();
    }
    const prior: TextPrior = { classEmbeddings: zeroshot.classEmbeddings, dim: zeroshot.dim, logitScale: zeroshot.logitScale };
    const tTrain = performance.now();
    const pl = pseudoLabel(unl.feats, templates, o.perClass, o.pseudoLabels);
    if (pl.data.feats.length === 0) throw new DataError(`the prompts assign none of the ${unl.feats.length} unlabelled images to any class.`);
    let method: FeatureHeadId = o.method === 'auto' ? 'linear-zs' : o.method;
    let selection: AutoSelection | undefined;
    if (o.method === 'auto') {
      // Validation on pseudo-labels: the only labels there are. Prompt-only candidates are left out:
      // judged against their own pseudo-labels they would always win.
      const candidates = AUTO_CANDIDATES.filter((c) => c !== 'zeroshot' && c !== 'ensemble');
      const cv = crossValidate(pl.data, { zeroshot: prior, ensemble }, candidates, o.seed);
      const w = pickWinner(cv);
      method = w.method as FeatureHeadId;
      selection = { winner: w.method, folds: cv.folds, candidates: cv.scores };
    }
    const h = trainFeatureHead(method, pl.data, prior, o.seed);
    const trainSeconds = (performance.now() - tTrain) / 1000;
    const artifact = await headArtifact(ckpt, o.labels, method, h, {
      unlabeled_n: String(unl.feats.length), pseudo_labels: o.pseudoLabels, kept_per_class: JSON.stringify(pl.perClass), seed: String(o.seed),
    });
    let evalOut: UnlabeledJobResult['eval'];
    if (evalSet && evalData) {
      evalOut = { head: evaluateEmbedded(evalSet, evalData.toTrainLabel, artifact), zeroshot: evaluateEmbedded(evalSet, evalData.toTrainLabel, zeroshot) };
    }
    const metrics: Record<string, unknown> = { train_n: pl.data.feats.length, unlabeled_n: unl.feats.length };
    if (evalOut) Object.assign(metrics, { accuracy: evalOut.head.accuracy, zeroshot_accuracy: evalOut.zeroshot.accuracy, eval_n: evalOut.head.n });
    return {
      artifact: { ...artifact, metrics }, unlabeledN: unl.feats.length, keptPerClass: pl.perClass,
      ...(evalOut ? { eval: evalOut } : {}), ...(selection ? { selection } : {}),
      seconds: (performance.now() - t0) / 1000, trainSeconds,
    };
  });
}
