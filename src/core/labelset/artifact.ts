/**
 * LabelSetArtifact: the versioned file that carries a tenant's baked class embeddings from the
 * trainer to the worker. One safetensors file (see docs/artifact-format.md):
 *   class_embeddings  F32|F16 [classes, dim], rows L2-normalised
 *   ctx               F32 [n_ctx, width] | [classes, n_ctx, width] (CoOp only, optional)
 *   __metadata__      format, labels, model_id, model_sha256, logit_scale, method, templates,
 *                     metrics, created_at, version (+ method-specific keys)
 */
import { ArtifactError, ModelMismatchError } from '../errors.ts';
import { parseSafetensors, serializeSafetensors, tensorToFloat32, type TensorToWrite } from '../safetensors.ts';

export const LABELSET_FORMAT = 'prompt-edge/labelset@1';
export const LABELSET_METHODS = ['zeroshot', 'ensemble', 'coop'] as const;
export type LabelSetMethod = (typeof LABELSET_METHODS)[number];

/** Keys the format defines; anything else in __metadata__ is kept in `extra`. */
const CORE_KEYS = new Set(['format', 'labels', 'model_id', 'model_sha256', 'logit_scale', 'method', 'templates', 'metrics', 'created_at', 'version']);

export interface LabelSetArtifact {
  readonly labels: readonly string[];
  readonly modelId: string;
  readonly modelSha256: string;
  readonly logitScale: number;
  readonly method: LabelSetMethod;
  /** Prompt templates with "{}" for the class name (zeroshot: one; ensemble: several). */
  readonly templates?: readonly string[];
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly version: string;
  /** [classes, dim] row-major, rows L2-normalised. */
  readonly classEmbeddings: Float32Array;
  readonly dim: number;
  /** Learned CoOp context: shape [n_ctx, width] (unified) or [classes, n_ctx, width] (class-specific). */
  readonly ctx?: { readonly data: Float32Array; readonly shape: readonly number[] };
  /** Method-specific string metadata (n_ctx, csc, class_token_position, ctx_init, shots, seed, ...). */
  readonly extra: Readonly<Record<string, string>>;
}

export interface EncodeOptions {
  /** Storage precision of class_embeddings (ctx is always F32). Default F32. */
  embeddingDtype?: 'F32' | 'F16';
}

/** Tolerance on |row norm - 1|: F16 storage rounds each value to ~1e-3 relative. */
function normTolerance(dtype: string): number {
  return dtype === 'F16' ? 5e-3 : 1e-4;
}

export function encodeLabelSet(a: LabelSetArtifact, opts: EncodeOptions = {}): Uint8Array {
  validateContent(a, 'label set');
  const meta: Record<string, string> = {
    format: LABELSET_FORMAT,
    labels: JSON.stringify(a.labels),
    model_id: a.modelId,
    model_sha256: a.modelSha256,
    logit_scale: String(a.logitScale),
    method: a.method,
    metrics: JSON.stringify(a.metrics),
    created_at: a.createdAt,
    version: a.version,
  };
  if (a.templates) meta['templates'] = JSON.stringify(a.templates);
  for (const [k, v] of Object.entries(a.extra)) {
    if (CORE_KEYS.has(k)) throw new ArtifactError(`extra metadata key "${k}" clashes with a format key.`);
    meta[k] = v;
  }
  const tensors: Record<string, TensorToWrite> = {
    class_embeddings: { dtype: opts.embeddingDtype ?? 'F32', shape: [a.labels.length, a.dim], data: a.classEmbeddings },
  };
  if (a.ctx) tensors['ctx'] = { dtype: 'F32', shape: a.ctx.shape, data: a.ctx.data };
  return serializeSafetensors(tensors, meta);
}

export interface DecodeExpectations {
  /** The deployed model's embedding dimension. */
  dim?: number;
  /** sha256 of the deployed vision ONNX file. */
  modelSha256?: string;
  /** Name used in error messages (file name or storage key). */
  source?: string;
}

function parseJsonField<T>(meta: Record<string, string>, key: string, src: string, check: (v: unknown) => v is T, what: string): T {
  const raw = meta[key];
  if (raw === undefined) throw new ArtifactError(`${src}: metadata "${key}" is missing.`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (cause) {
    throw new ArtifactError(`${src}: metadata "${key}" is not valid JSON.`, { cause });
  }
  if (!check(v)) throw new ArtifactError(`${src}: metadata "${key}" must be ${what}.`);
  return v;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeLabelSet(bytes: Uint8Array, expect: DecodeExpectations = {}): LabelSetArtifact {
  const src = expect.source ?? 'label set';
  const file = parseSafetensors(bytes, src);
  const meta = file.metadata;
  if (meta['format'] !== LABELSET_FORMAT) {
    throw new ArtifactError(`${src}: format is ${JSON.stringify(meta['format'] ?? null)}, expected "${LABELSET_FORMAT}". Is this a prompt-edge label set?`);
  }
  const labels = parseJsonField(meta, 'labels', src, isStringArray, 'a JSON array of strings');
  const method = meta['method'];
  if (!LABELSET_METHODS.includes(method as LabelSetMethod)) {
    throw new ArtifactError(`${src}: method ${JSON.stringify(method ?? null)} is not one of ${LABELSET_METHODS.join(', ')}.`);
  }
  const logitScale = Number(meta['logit_scale']);
  if (!Number.isFinite(logitScale) || logitScale <= 0) throw new ArtifactError(`${src}: logit_scale must be a positive number.`);
  const modelSha256 = meta['model_sha256'] ?? '';
  if (!/^[0-9a-f]{64}$/.test(modelSha256)) throw new ArtifactError(`${src}: model_sha256 must be 64 lowercase hex digits.`);
  for (const k of ['model_id', 'created_at', 'version']) {
    if (!meta[k]) throw new ArtifactError(`${src}: metadata "${k}" is missing.`);
  }
  const metrics = meta['metrics'] === undefined ? {} : parseJsonField(meta, 'metrics', src, isObject, 'a JSON object');
  const templates = meta['templates'] === undefined ? undefined : parseJsonField(meta, 'templates', src, isStringArray, 'a JSON array of strings');

  const ce = file.tensors.get('class_embeddings');
  if (!ce) throw new ArtifactError(`${src}: tensor "class_embeddings" is missing.`);
  if (ce.dtype !== 'F32' && ce.dtype !== 'F16') throw new ArtifactError(`${src}: class_embeddings must be F32 or F16, not ${ce.dtype}.`);
  if (ce.shape.length !== 2) throw new ArtifactError(`${src}: class_embeddings must be 2-D [classes, dim], got ${JSON.stringify(ce.shape)}.`);
  const [rows, dim] = ce.shape as [number, number];
  if (rows !== labels.length) throw new ArtifactError(`${src}: class_embeddings has ${rows} rows but there are ${labels.length} labels.`);
  if (expect.dim !== undefined && dim !== expect.dim) {
    throw new ModelMismatchError(`${src}: embedding dimension ${dim} does not match the model's ${expect.dim}. The label set was built for another model.`);
  }
  if (expect.modelSha256 !== undefined && modelSha256 !== expect.modelSha256) {
    throw new ModelMismatchError(`${src}: built for model ${meta['model_id']} (vision sha256 ${modelSha256.slice(0, 12)}…), but the deployed model is ${expect.modelSha256.slice(0, 12)}…. Rebuild the label set against this model.`);
  }
  const classEmbeddings = tensorToFloat32(ce);
  let ctx: LabelSetArtifact['ctx'];
  const ctxT = file.tensors.get('ctx');
  if (ctxT) {
    if (ctxT.dtype !== 'F32') throw new ArtifactError(`${src}: ctx must be F32, not ${ctxT.dtype}.`);
    if (ctxT.shape.length !== 2 && !(ctxT.shape.length === 3 && ctxT.shape[0] === rows)) {
      throw new ArtifactError(`${src}: ctx must be [n_ctx, width] or [classes, n_ctx, width], got ${JSON.stringify(ctxT.shape)}.`);
    }
    ctx = { data: tensorToFloat32(ctxT), shape: ctxT.shape };
  }
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!CORE_KEYS.has(k)) extra[k] = v;
  const artifact: LabelSetArtifact = {
    labels, modelId: meta['model_id']!, modelSha256, logitScale, method: method as LabelSetMethod,
    ...(templates ? { templates } : {}), metrics, createdAt: meta['created_at']!, version: meta['version']!,
    classEmbeddings, dim, ...(ctx ? { ctx } : {}), extra,
  };
  validateContent(artifact, src, normTolerance(ce.dtype));
  return artifact;
}

function validateContent(a: LabelSetArtifact, src: string, tol = 1e-4): void {
  if (a.labels.length < 1) throw new ArtifactError(`${src}: a label set needs at least one label.`);
  const seen = new Set<string>();
  for (const l of a.labels) {
    if (l.trim() === '') throw new ArtifactError(`${src}: labels must not be empty.`);
    if (seen.has(l)) throw new ArtifactError(`${src}: label "${l}" appears twice.`);
    seen.add(l);
  }
  if (a.classEmbeddings.length !== a.labels.length * a.dim) {
    throw new ArtifactError(`${src}: class_embeddings has ${a.classEmbeddings.length} values, expected ${a.labels.length} x ${a.dim}.`);
  }
  for (let r = 0; r < a.labels.length; r++) {
    let s = 0;
    for (let i = 0; i < a.dim; i++) {
      const v = a.classEmbeddings[r * a.dim + i]!;
      if (!Number.isFinite(v)) throw new ArtifactError(`${src}: class_embeddings row ${r} ("${a.labels[r]}") has a non-finite value.`);
      s += v * v;
    }
    if (Math.abs(Math.sqrt(s) - 1) > tol) {
      throw new ArtifactError(`${src}: class_embeddings row ${r} ("${a.labels[r]}") has norm ${Math.sqrt(s).toFixed(6)}; rows must be L2-normalised.`);
    }
  }
  if (a.ctx) for (const v of a.ctx.data) if (!Number.isFinite(v)) throw new ArtifactError(`${src}: ctx has a non-finite value.`);
}

/** A content digest usable as a version: the same embeddings and labels give the same version. */
export async function contentVersion(classEmbeddings: Float32Array, labels: readonly string[]): Promise<string> {
  const enc = new TextEncoder().encode(JSON.stringify(labels));
  const buf = new Uint8Array(enc.byteLength + classEmbeddings.byteLength);
  buf.set(enc, 0);
  buf.set(new Uint8Array(classEmbeddings.buffer, classEmbeddings.byteOffset, classEmbeddings.byteLength), enc.byteLength);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join('');
}
