/**
 * Builds hand-written-prompt label sets: CLIP zero-shot (one template) and CLIP's prompt
 * ensemble (mean of the L2-normalised embeddings of several templates, renormalised).
 */
import { contentVersion, type LabelSetArtifact, type LabelSetMethod } from '../core/labelset/artifact.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { fillTemplate } from '../core/templates.ts';
import type { ClipCheckpoint } from './checkpoint.ts';
import { promptName } from './data/image-folder.ts';
import type { TextTower } from './text-tower.ts';

export function parseLabelList(csv: string): string[] {
  const labels = csv.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (labels.length === 0) throw new InvalidArgumentError('--labels needs at least one label, e.g. --labels cat,dog');
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw new InvalidArgumentError(`label "${l}" is given twice in --labels.`);
    seen.add(l);
  }
  return labels;
}

/** [labels.length, dim] class embeddings, each the normalised mean over templates. */
export async function embedClassPrompts(
  ckpt: ClipCheckpoint,
  tower: TextTower,
  labels: readonly string[],
  templates: readonly string[],
): Promise<Float32Array> {
  if (templates.length === 0) throw new InvalidArgumentError('at least one prompt template is needed.');
  const ids = labels.flatMap((l) => templates.map((t) => ckpt.tokenizer.encode(fillTemplate(t, promptName(l)))));
  const feats = await tower.encodeIds(ids);
  const dim = tower.projectionDim;
  const out = new Float32Array(labels.length * dim);
  labels.forEach((_, c) => {
    const row = out.subarray(c * dim, (c + 1) * dim);
    for (let t = 0; t < templates.length; t++) {
      const f = feats[c * templates.length + t]!;
      for (let i = 0; i < dim; i++) row[i]! += f[i]!;
    }
    let s = 0;
    for (let i = 0; i < dim; i++) s += row[i]! * row[i]!;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dim; i++) row[i]! *= inv;
  });
  return out;
}

export async function buildPromptLabelSet(
  ckpt: ClipCheckpoint,
  tower: TextTower,
  labels: readonly string[],
  templates: readonly string[],
  method: Extract<LabelSetMethod, 'zeroshot' | 'ensemble'>,
  metrics: Record<string, unknown> = {},
): Promise<LabelSetArtifact> {
  const classEmbeddings = await embedClassPrompts(ckpt, tower, labels, templates);
  return { ...(await artifactFields(ckpt, labels, method, templates, classEmbeddings)), metrics, extra: {} };
}

/**
 * What every label set built for `ckpt` records (its served model, labels, class embeddings and
 * their content version); callers add metrics, extra and, for a learned head, the head.
 */
export async function artifactFields(
  ckpt: ClipCheckpoint,
  labels: readonly string[],
  method: LabelSetMethod,
  templates: readonly string[],
  classEmbeddings: Float32Array,
): Promise<Omit<LabelSetArtifact, 'metrics' | 'extra'>> {
  return {
    labels: [...labels],
    modelId: ckpt.modelId,
    modelSha256: ckpt.served.sha256,
    logitScale: ckpt.logitScale,
    method,
    templates: [...templates],
    createdAt: new Date().toISOString(),
    version: await contentVersion(classEmbeddings, labels),
    classEmbeddings,
    dim: ckpt.config.projection_dim,
  };
}
