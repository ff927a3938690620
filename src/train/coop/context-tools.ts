/**
 * Working with a trained CoOp context after training:
 * - rebinding: embeddings for new class names with the stored unified context, no retraining
 *   (the reason CoOp's unified context is class-agnostic);
 * - reading: the vocabulary tokens nearest to each context vector (Euclidean, as in the paper).
 */
import { ArtifactError, InvalidArgumentError } from '../../core/errors.ts';
import { contentVersion, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import { rngFor } from '../random.ts';
import type { TextTower } from '../text-tower.ts';
import { CustomClip } from './custom-clip.ts';
import { PromptLearner, type ClassTokenPosition } from './prompt-learner.ts';

function coopSettings(a: LabelSetArtifact): { nCtx: number; csc: boolean; position: ClassTokenPosition; ctxInit: string | undefined } {
  if (a.method !== 'coop' || !a.ctx) throw new ArtifactError(`this label set was built with method "${a.method}"; only CoOp label sets (with a stored ctx) have a learned context.`);
  const position = a.extra['class_token_position'] as ClassTokenPosition | undefined;
  if (position !== 'end' && position !== 'middle' && position !== 'front') throw new ArtifactError('the label set has no valid class_token_position metadata.');
  return { nCtx: Number(a.extra['n_ctx']), csc: a.extra['csc'] === 'true', position, ctxInit: a.extra['ctx_init'] || undefined };
}

/** A new artifact with `newLabels` appended, embedded with the stored unified context. */
export async function addLabels(ckpt: ClipCheckpoint, tower: TextTower, artifact: LabelSetArtifact, newLabels: readonly string[]): Promise<LabelSetArtifact> {
  const s = coopSettings(artifact);
  if (s.csc) {
    throw new InvalidArgumentError('this label set has a class-specific context (--csc): each class learned its own words, so there is no context to reuse for new labels. Retrain with the new labels instead (prompt-edge train), or train a unified context.');
  }
  for (const l of newLabels) if (artifact.labels.includes(l)) throw new InvalidArgumentError(`label "${l}" is already in the label set.`);
  const learner = new PromptLearner(newLabels, ckpt.tokenizer, tower, { nCtx: s.nCtx, csc: false, classTokenPosition: s.position, ctxInit: s.ctxInit }, rngFor(0, 'unused'), artifact.ctx!.data);
  const added = await new CustomClip(learner, tower, artifact.logitScale).classEmbeddings();
  const labels = [...artifact.labels, ...newLabels];
  const classEmbeddings = new Float32Array(labels.length * artifact.dim);
  classEmbeddings.set(artifact.classEmbeddings, 0);
  classEmbeddings.set(added, artifact.classEmbeddings.length);
  return {
    ...artifact,
    labels,
    classEmbeddings,
    createdAt: new Date().toISOString(),
    version: await contentVersion(classEmbeddings, labels),
    // Accuracy figures were measured on the old label list; keep them, marked as such.
    metrics: { ...artifact.metrics, labels_added_after_evaluation: newLabels },
  };
}

export interface NearestWords {
  /** "ctx[k]" for a unified context, "<class> ctx[k]" for CSC. */
  vector: string;
  words: { token: string; distance: number }[];
}

/** For each context vector, the k vocabulary tokens whose embeddings are nearest (Euclidean). */
export function nearestWords(ckpt: ClipCheckpoint, artifact: LabelSetArtifact, k: number): NearestWords[] {
  coopSettings(artifact);
  const table = ckpt.weight('text_model.embeddings.token_embedding.weight');
  const [vocab, width] = ckpt.weightShape('text_model.embeddings.token_embedding.weight') as [number, number];
  const shape = artifact.ctx!.shape;
  if (shape.at(-1) !== width) throw new ArtifactError(`the stored context has width ${shape.at(-1)}, but this model's token embeddings have width ${width}: use the model the label set was trained on.`);
  const ctx = artifact.ctx!.data;
  const nVec = ctx.length / width;
  const nCtx = shape.length === 3 ? shape[1]! : shape[0]!;
  const out: NearestWords[] = [];
  for (let v = 0; v < nVec; v++) {
    const dist: { id: number; d: number }[] = [];
    for (let t = 0; t < vocab; t++) {
      let d = 0;
      for (let i = 0; i < width; i++) {
        const x = ctx[v * width + i]! - table[t * width + i]!;
        d += x * x;
      }
      dist.push({ id: t, d });
    }
    dist.sort((a, b) => a.d - b.d);
    const name = shape.length === 3 ? `${artifact.labels[Math.floor(v / nCtx)]} ctx[${v % nCtx}]` : `ctx[${v}]`;
    out.push({ vector: name, words: dist.slice(0, k).map(({ id, d }) => ({ token: ckpt.tokenizer.idToToken(id), distance: Math.sqrt(d) })) });
  }
  return out;
}
