/**
 * LabelSetArtifact: the versioned file that carries a tenant's baked classifier from the trainer to
 * the worker. One safetensors file (see docs/artifact-format.md):
 *   format 1 (cosine heads of zeroshot, ensemble, coop):
 *     class_embeddings  F32|F16 [classes, dim], rows L2-normalised
 *     ctx               F32 [n_ctx, width] | [classes, n_ctx, width] (CoOp only, optional)
 *   format 2 adds a `head` metadata key and the head's tensors:
 *     cosine       class_embeddings (as format 1; methods kgcoop etc.)
 *     linear       weight F32 [classes, dim] (rows free), bias F32 [classes] (optional)
 *     tip-adapter  class_embeddings, cache_keys F32 [n, dim], and cache_classes I32 [n] (one-hot
 *                  values) or cache_values F32 [n, classes]; tip_alpha, tip_beta in metadata
 *   __metadata__    format, labels, model_id, model_sha256, logit_scale, method, templates,
 *                   metrics, created_at, version (+ head, tip_alpha, tip_beta, method-specific keys)
 * The writer uses format 1 whenever the content fits it, so workers that read only format 1 keep
 * serving every label set they could before; this reader reads both.
 */
import { ArtifactError, ModelMismatchError } from '../errors.ts';
import { parseSafetensors, serializeSafetensors, tensorToFloat32, type TensorToWrite, type TensorView } from '../safetensors.ts';
import { HEAD_KINDS, type CacheValues, type ClassifierHead, type HeadKind } from './head.ts';

export const LABELSET_FORMAT_V1 = 'prompt-edge/labelset@1';
export const LABELSET_FORMAT_V2 = 'prompt-edge/labelset@2';
/** The newest format this code writes and reads. */
export const LABELSET_FORMAT = LABELSET_FORMAT_V2;
const V1_METHODS = ['zeroshot', 'ensemble', 'coop'] as const;
export const LABELSET_METHODS = [...V1_METHODS, 'kgcoop', 'linear-zs', 'tip-adapter', 'tip-adapter-f'] as const;
export type LabelSetMethod = (typeof LABELSET_METHODS)[number];

/** Keys the format defines; anything else in __metadata__ is kept in `extra`. */
const CORE_KEYS = new Set(['format', 'labels', 'model_id', 'model_sha256', 'logit_scale', 'method', 'templates', 'metrics', 'created_at', 'version', 'head', 'tip_alpha', 'tip_beta']);

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
  /** [classes, dim] row-major: rows L2-normalised, except for a linear head (its free weights). */
  readonly classEmbeddings: Float32Array;
  /** How logits are computed from classEmbeddings (absent = cosine); see labelset/head.ts. */
  readonly head?: ClassifierHead | undefined;
  readonly dim: number;
  /** Learned CoOp context: shape [n_ctx, width] (unified) or [classes, n_ctx, width] (class-specific). */
  readonly ctx?: { readonly data: Float32Array; readonly shape: readonly number[] };
  /** Method-specific string metadata (n_ctx, csc, class_token_position, ctx_init, shots, seed, ...). */
  readonly extra: Readonly<Record<string, string>>;
}

export interface EncodeOptions {
  /** Storage precision of class_embeddings (ctx and head tensors are always F32). Default F32. */
  embeddingDtype?: 'F32' | 'F16';
}

/** Format 1 when the content fits it (a cosine head of a format-1 method), else format 2. */
export function formatFor(a: Pick<LabelSetArtifact, 'method' | 'head'>): string {
  const cosine = !a.head || a.head.kind === 'cosine';
  return cosine && (V1_METHODS as readonly string[]).includes(a.method) ? LABELSET_FORMAT_V1 : LABELSET_FORMAT_V2;
}

/** Tolerance on |row norm - 1|: F16 storage rounds each value to ~1e-3 relative. */
function normTolerance(dtype: string): number {
  return dtype === 'F16' ? 5e-3 : 1e-4;
}

export function encodeLabelSet(a: LabelSetArtifact, opts: EncodeOptions = {}): Uint8Array {
  validateContent(a, 'label set');
  const format = formatFor(a);
  const head = a.head ?? { kind: 'cosine' as const };
  const meta: Record<string, string> = {
    format,
    labels: JSON.stringify(a.labels),
    model_id: a.modelId,
    model_sha256: a.modelSha256,
    logit_scale: String(a.logitScale),
    method: a.method,
    metrics: JSON.stringify(a.metrics),
    created_at: a.createdAt,
    version: a.version,
  };
  if (format === LABELSET_FORMAT_V2) meta['head'] = head.kind;
  if (a.templates) meta['templates'] = JSON.stringify(a.templates);
  for (const [k, v] of Object.entries(a.extra)) {
    if (CORE_KEYS.has(k)) throw new ArtifactError(`extra metadata key "${k}" clashes with a format key.`);
    meta[k] = v;
  }
  const C = a.labels.length;
  const tensors: Record<string, TensorToWrite> = {};
  if (head.kind === 'linear') {
    tensors['weight'] = { dtype: 'F32', shape: [C, a.dim], data: a.classEmbeddings };
    if (head.bias) tensors['bias'] = { dtype: 'F32', shape: [C], data: head.bias };
  } else {
    tensors['class_embeddings'] = { dtype: opts.embeddingDtype ?? 'F32', shape: [C, a.dim], data: a.classEmbeddings };
  }
  if (head.kind === 'tip-adapter') {
    meta['tip_alpha'] = String(head.alpha);
    meta['tip_beta'] = String(head.beta);
    tensors['cache_keys'] = { dtype: 'F32', shape: [head.size, a.dim], data: head.keys };
    if (head.values.kind === 'one-hot') tensors['cache_classes'] = { dtype: 'I32', shape: [head.size], data: head.values.classOf };
    else tensors['cache_values'] = { dtype: 'F32', shape: [head.size, C], data: head.values.data };
  }
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
  const format = meta['format'];
  if (format !== LABELSET_FORMAT_V1 && format !== LABELSET_FORMAT_V2) {
    const newer = typeof format === 'string' && /^prompt-edge\/labelset@\d+$/.test(format);
    throw new ArtifactError(newer
      ? `${src}: format ${format} is newer than this prompt-edge reads (${LABELSET_FORMAT_V1} and ${LABELSET_FORMAT_V2}). Upgrade prompt-edge (CLI and worker) to use it.`
      : `${src}: format is ${JSON.stringify(format ?? null)}, expected "${LABELSET_FORMAT_V1}" or "${LABELSET_FORMAT_V2}". Is this a prompt-edge label set?`);
  }
  const labels = parseJsonField(meta, 'labels', src, isStringArray, 'a JSON array of strings');
  const method = meta['method'];
  const methods: readonly string[] = format === LABELSET_FORMAT_V1 ? V1_METHODS : LABELSET_METHODS;
  if (!methods.includes(method as LabelSetMethod)) {
    throw new ArtifactError(`${src}: method ${JSON.stringify(method ?? null)} is not one of ${methods.join(', ')} (${format}).`);
  }
  const headKind = format === LABELSET_FORMAT_V1 ? 'cosine' : meta['head'];
  if (!HEAD_KINDS.includes(headKind as HeadKind)) {
    throw new ArtifactError(`${src}: head ${JSON.stringify(headKind ?? null)} is not one of ${HEAD_KINDS.join(', ')}.`);
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

  const rowsName = headKind === 'linear' ? 'weight' : 'class_embeddings';
  const ce = file.tensors.get(rowsName);
  if (!ce) throw new ArtifactError(`${src}: tensor "${rowsName}" is missing.`);
  if (ce.dtype !== 'F32' && ce.dtype !== 'F16') throw new ArtifactError(`${src}: ${rowsName} must be F32 or F16, not ${ce.dtype}.`);
  if (ce.shape.length !== 2) throw new ArtifactError(`${src}: ${rowsName} must be 2-D [classes, dim], got ${JSON.stringify(ce.shape)}.`);
  const [rows, dim] = ce.shape as [number, number];
  if (rows !== labels.length) throw new ArtifactError(`${src}: ${rowsName} has ${rows} rows but there are ${labels.length} labels.`);
  if (expect.dim !== undefined && dim !== expect.dim) {
    throw new ModelMismatchError(`${src}: embedding dimension ${dim} does not match the model's ${expect.dim}. The label set was built for another model.`);
  }
  if (expect.modelSha256 !== undefined && modelSha256 !== expect.modelSha256) {
    throw new ModelMismatchError(`${src}: built for model ${meta['model_id']} (vision sha256 ${modelSha256.slice(0, 12)}…), but the deployed model is ${expect.modelSha256.slice(0, 12)}…. Rebuild the label set against this model.`);
  }
  const head = decodeHead(headKind as HeadKind, file.tensors, meta, rows, dim, src);
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
    classEmbeddings, dim, ...(head.kind === 'cosine' ? {} : { head }), ...(ctx ? { ctx } : {}), extra,
  };
  validateContent(artifact, src, normTolerance(ce.dtype));
  return artifact;
}

function f32Tensor(tensors: ReadonlyMap<string, TensorView>, name: string, shape: readonly number[], src: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new ArtifactError(`${src}: tensor "${name}" is missing.`);
  if (t.dtype !== 'F32') throw new ArtifactError(`${src}: ${name} must be F32, not ${t.dtype}.`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ArtifactError(`${src}: ${name} must have shape ${JSON.stringify(shape)}, got ${JSON.stringify(t.shape)}.`);
  }
  return tensorToFloat32(t);
}

function decodeHead(kind: HeadKind, tensors: ReadonlyMap<string, TensorView>, meta: Record<string, string>, classes: number, dim: number, src: string): ClassifierHead {
  if (kind === 'cosine') return { kind };
  if (kind === 'linear') return tensors.has('bias') ? { kind, bias: f32Tensor(tensors, 'bias', [classes], src) } : { kind };
  const keysT = tensors.get('cache_keys');
  if (!keysT || keysT.shape.length !== 2) throw new ArtifactError(`${src}: a tip-adapter head needs a 2-D tensor "cache_keys" [n, dim].`);
  const size = keysT.shape[0]!;
  if (keysT.shape[1] !== dim) throw new ModelMismatchError(`${src}: cache_keys have dimension ${keysT.shape[1]}, the class embeddings ${dim}.`);
  const keys = f32Tensor(tensors, 'cache_keys', [size, dim], src);
  let values: CacheValues;
  const classesT = tensors.get('cache_classes');
  if (classesT) {
    if (classesT.dtype !== 'I32' || classesT.shape.length !== 1 || classesT.shape[0] !== size) {
      throw new ArtifactError(`${src}: cache_classes must be I32 [${size}], got ${classesT.dtype}${JSON.stringify(classesT.shape)}.`);
    }
    const dv = new DataView(classesT.bytes.buffer, classesT.bytes.byteOffset, classesT.bytes.byteLength);
    const classOf = Int32Array.from({ length: size }, (_, j) => dv.getInt32(j * 4, true));
    for (const c of classOf) if (c < 0 || c >= classes) throw new ArtifactError(`${src}: cache_classes holds class ${c}, outside 0..${classes - 1}.`);
    values = { kind: 'one-hot', classOf };
  } else {
    if (!tensors.has('cache_values')) throw new ArtifactError(`${src}: a tip-adapter head needs "cache_classes" or "cache_values".`);
    values = { kind: 'dense', data: f32Tensor(tensors, 'cache_values', [size, classes], src) };
  }
  const alpha = Number(meta['tip_alpha']);
  const beta = Number(meta['tip_beta']);
  if (!Number.isFinite(alpha) || !Number.isFinite(beta) || beta < 0) throw new ArtifactError(`${src}: tip_alpha and tip_beta must be numbers (beta >= 0).`);
  return { kind, keys, values, size, alpha, beta };
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
    if (a.head?.kind !== 'linear' && Math.abs(Math.sqrt(s) - 1) > tol) {
      throw new ArtifactError(`${src}: class_embeddings row ${r} ("${a.labels[r]}") has norm ${Math.sqrt(s).toFixed(6)}; rows must be L2-normalised.`);
    }
  }
  if (a.ctx) for (const v of a.ctx.data) if (!Number.isFinite(v)) throw new ArtifactError(`${src}: ctx has a non-finite value.`);
  const h = a.head;
  if (h?.kind === 'linear' && h.bias) {
    if (h.bias.length !== a.labels.length) throw new ArtifactError(`${src}: bias has ${h.bias.length} values for ${a.labels.length} labels.`);
    for (const v of h.bias) if (!Number.isFinite(v)) throw new ArtifactError(`${src}: bias has a non-finite value.`);
  }
  if (h?.kind === 'tip-adapter') {
    if (h.keys.length !== h.size * a.dim) throw new ArtifactError(`${src}: cache_keys has ${h.keys.length} values, expected ${h.size} x ${a.dim}.`);
    for (const v of h.keys) if (!Number.isFinite(v)) throw new ArtifactError(`${src}: cache_keys has a non-finite value.`);
    if (h.values.kind === 'one-hot' ? h.values.classOf.length !== h.size : h.values.data.length !== h.size * a.labels.length) {
      throw new ArtifactError(`${src}: cache values do not match ${h.size} keys x ${a.labels.length} labels.`);
    }
    if (h.values.kind === 'dense') for (const v of h.values.data) if (!Number.isFinite(v)) throw new ArtifactError(`${src}: cache_values has a non-finite value.`);
  }
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
