/**
 * The "train" step and its seam. A `HeadMethod` turns cached image features of the training images
 * (and the frozen text tower) into a label set; the steps around it (data, embed, evaluate, gate,
 * report, publish) do not know which method ran. CoOp and the prompt-only label sets (zero-shot,
 * ensemble) are implementations; a new head (linear probe, Tip-Adapter, ...) is another one.
 */
import { DataError } from '../../core/errors.ts';
import { contentVersion, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE, DEFAULT_ENSEMBLE_TEMPLATES } from '../../core/templates.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import type { ClassTokenPosition } from '../coop/prompt-learner.ts';
import { defaultEpochs } from '../coop/sgd.ts';
import { COOP_DEFAULTS, flipLabels, KGCOOP_WEIGHT, trainCoop, type CoopOptions, type EpochReport } from '../coop/trainer.ts';
import type { ImageItem } from '../data/image-folder.ts';
import { buildPromptLabelSet, embedClassPrompts } from '../labelset-builder.ts';
import type { Device } from '../ort-node.ts';
import { TextTower } from '../text-tower.ts';
import { embedTrainingViews, loadForEmbedding, type Embedder } from './embed.ts';
import type { StepUi } from './ui.ts';
import type { AutoSelection } from '../heads/auto.ts';

/** What a head trains on: one feature per view of each training image, and its class. */
export interface TrainingSet {
  readonly labels: readonly string[];
  /** [image][view], L2-normalised; view 0 is the image with CLIP's own preprocessing. */
  readonly views: readonly (readonly Float32Array[])[];
  /** Class index of each image. */
  readonly labelIndex: readonly number[];
  readonly shots: number;
  readonly seed: number;
}

export interface HeadContext {
  readonly ckpt: ClipCheckpoint;
  /** The frozen text tower (class-name prompts, or a learned context through it). */
  readonly textTower: TextTower;
  readonly ui: StepUi;
}

/** A trained head: the label set (metrics are added by the evaluate step) and how training went. */
export interface TrainedHead {
  readonly artifact: LabelSetArtifact;
  /** Per epoch; empty for heads that do not iterate. */
  readonly lossPerEpoch: number[];
  readonly accuracyPerEpoch: number[];
  readonly epochs: number;
  readonly steps: number;
  readonly trainSeconds: number;
  /** `--method auto`: every candidate's cross-validated score and the winner (heads/auto.ts). */
  readonly selection?: AutoSelection | undefined;
}

export interface HeadMethod {
  /** The artifact's `method`, e.g. 'coop'. */
  readonly id: string;
  /** Whether it learns from labelled images (false: built from class names alone, no training images needed). */
  readonly usesImages: boolean;
  /** Augmented views per training image besides the image itself (0: plain features only). */
  readonly augViews: number;
  /** Small text towers (the 128-wide default) run fastest on one thread for the many small runs of training. */
  readonly singleThreadTextTower: boolean;
  train(set: TrainingSet, ctx: HeadContext): Promise<TrainedHead>;
}

/** A label set from hand-written prompts: "a photo of a {}." (zeroshot) or a template ensemble. */
export function promptHead(method: 'zeroshot' | 'ensemble', templates?: readonly string[]): HeadMethod {
  const use = templates ?? (method === 'zeroshot' ? [CLIP_SINGLE_TEMPLATE] : [...DEFAULT_ENSEMBLE_TEMPLATES]);
  return {
    id: method, usesImages: false, augViews: 0, singleThreadTextTower: false,
    async train(set, ctx) {
      const artifact = await buildPromptLabelSet(ctx.ckpt, ctx.textTower, set.labels, [...use], method);
      return { artifact, lossPerEpoch: [], accuracyPerEpoch: [], epochs: 0, steps: 0, trainSeconds: 0 };
    },
  };
}

/** CoOp's settings as users give them (the optimiser's other settings are CoOp's defaults). */
export interface CoopSettings {
  readonly nCtx?: number | undefined;
  readonly ctxInit?: string | undefined;
  readonly csc: boolean;
  readonly classTokenPosition: ClassTokenPosition;
  readonly epochs?: number | undefined;
  readonly lr?: number | undefined;
  readonly batchSize?: number | undefined;
  readonly augViews: number;
  /** Fraction of training labels replaced by a wrong class (robustness study); default 0. */
  readonly labelNoise?: number | undefined;
  /** KgCoOp: add the knowledge-guided term pulling the learned class embeddings towards "a photo of a {}." (method kgcoop). */
  readonly knowledgeGuided?: boolean | undefined;
}

/** CoOp (or KgCoOp with `knowledgeGuided`): a learned prompt context through the frozen text tower (coop/). */
export function coopHead(s: CoopSettings): HeadMethod {
  const method = s.knowledgeGuided ? 'kgcoop' : 'coop';
  return {
    id: method, usesImages: true, augViews: s.augViews, singleThreadTextTower: true,
    async train(set, ctx) {
      const given = Object.fromEntries(Object.entries(s).filter(([k, v]) => v !== undefined && k !== 'augViews' && k !== 'labelNoise' && k !== 'knowledgeGuided'));
      const opts: CoopOptions = { ...COOP_DEFAULTS, ...given, shots: set.shots, seed: set.seed } as CoopOptions;
      if (s.knowledgeGuided) opts.knowledgeAnchor = { embeddings: await embedClassPrompts(ctx.ckpt, ctx.textTower, set.labels, [CLIP_SINGLE_TEMPLATE]), weight: KGCOOP_WEIGHT };
      opts.epochs ??= defaultEpochs(set.shots);
      let labels = [...set.labelIndex];
      if (s.labelNoise) labels = flipLabels(labels, set.labels.length, s.labelNoise, set.seed);
      const bar = ctx.ui.progress('train (epochs)', opts.epochs ?? 0, ' loss {loss} acc {acc}%');
      const t0 = performance.now();
      const result = await trainCoop(set.labels, ctx.ckpt.tokenizer, ctx.textTower, ctx.ckpt.logitScale, set.views, labels, opts, (r: EpochReport) => {
        bar.update(r.epoch + (r.step === r.stepsPerEpoch ? 1 : 0), { loss: r.loss.toFixed(4), acc: (r.accuracy * 100).toFixed(1) });
      }).finally(() => bar.stop());
      const trainSeconds = (performance.now() - t0) / 1000;
      const learner = result.learner;
      const artifact: LabelSetArtifact = {
        labels: [...set.labels],
        modelId: ctx.ckpt.modelId,
        modelSha256: ctx.ckpt.served.sha256,
        logitScale: ctx.ckpt.logitScale,
        method,
        createdAt: new Date().toISOString(),
        version: await contentVersion(result.classEmbeddings, set.labels),
        classEmbeddings: result.classEmbeddings,
        dim: ctx.ckpt.config.projection_dim,
        ctx: { data: learner.ctx.slice(), shape: learner.ctxShape },
        extra: {
          n_ctx: String(learner.nCtx),
          csc: String(learner.csc),
          class_token_position: learner.classTokenPosition,
          ctx_init: learner.ctxInit ?? '',
          shots: String(set.shots),
          seed: String(set.seed),
          epochs: String(result.epochs),
          aug_views: String(s.augViews),
          ...(s.labelNoise ? { label_noise: String(s.labelNoise) } : {}),
          ...(s.knowledgeGuided ? { kg_weight: String(KGCOOP_WEIGHT) } : {}),
        },
        metrics: {},
      };
      return { artifact, lossPerEpoch: result.lossPerEpoch, accuracyPerEpoch: result.accuracyPerEpoch, epochs: result.epochs, steps: result.steps, trainSeconds };
    },
  };
}

/** A head and the zero-shot baseline ("a photo of a {}.") it is compared with, built with the same text tower. */
export interface TrainStepResult {
  readonly head: TrainedHead;
  readonly zeroshot: LabelSetArtifact;
}

/** The "train" step: opens the text tower, builds the zero-shot baseline, trains the head. */
export async function trainStep(method: HeadMethod, set: TrainingSet, o: { ckpt: ClipCheckpoint; device: Device }, ui: StepUi): Promise<TrainStepResult> {
  const small = o.ckpt.config.text_config.hidden_size <= 256;
  const textTower = await TextTower.create(o.ckpt, { device: o.device, ...(method.singleThreadTextTower && small ? { intraOpThreads: 1 } : {}) });
  try {
    const ctx: HeadContext = { ckpt: o.ckpt, textTower, ui };
    if (method.id === 'zeroshot') {
      const head = await method.train(set, ctx);
      return { head, zeroshot: head.artifact };
    }
    const zeroshot = await buildPromptLabelSet(o.ckpt, textTower, set.labels, [CLIP_SINGLE_TEMPLATE], 'zeroshot');
    return { head: await method.train(set, ctx), zeroshot };
  } finally {
    await textTower.dispose();
  }
}

/** The training images of a run: `items` drawn from the classes `labels` of the folder `root`. */
export interface TrainingImages {
  readonly labels: readonly string[];
  readonly root: string;
  readonly items: readonly ImageItem[];
  readonly shots: number;
  readonly seed: number;
}

/**
 * Embed + train for a method: decodes and embeds the training images when the method learns from
 * them (every class must keep a usable image), then runs the train step.
 */
export async function fitHead(method: HeadMethod, input: TrainingImages, e: Embedder, o: { ckpt: ClipCheckpoint; device: Device }): Promise<TrainStepResult & { trainN: number }> {
  let views: Float32Array[][] = [];
  let labelIndex: number[] = [];
  if (method.usesImages) {
    const images = await loadForEmbedding(e, input.items, 'load train images');
    input.labels.forEach((label, c) => {
      if (!images.some((im) => im.item.labelIndex === c)) throw new DataError(`no usable training image left for class "${label}" in ${input.root}.`);
    });
    views = await embedTrainingViews(e, images, method.augViews, input.seed);
    labelIndex = images.map((im) => im.item.labelIndex);
  }
  const r = await trainStep(method, { labels: input.labels, views, labelIndex, shots: input.shots, seed: input.seed }, o, e.ui);
  return { ...r, trainN: labelIndex.length };
}
