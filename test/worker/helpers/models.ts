/**
 * Vision models for the R2 model tests, made in-test from the bundled default model: the same file,
 * a byte-different but equivalent file (another sha256, same embeddings), and the same model with
 * its weights as ONNX external data. Plus an R2 binding wrapper that counts reads.
 */
import modelSafetensors from '../../../artifacts/models/tiny-clip-cifar10/model.safetensors';
import checkpointConfig from '../../../artifacts/models/tiny-clip-cifar10/config.json';
import { partDataName } from '../../../src/core/model-files.ts';
import { parseSafetensors, tensorToFloat32 } from '../../../src/core/safetensors.ts';
import type { ClipCheckpoint } from '../../../src/train/checkpoint.ts';
import { ClipConfigSchema } from '../../../src/train/clip/config.ts';
import { exportEdgeVit } from '../../../src/train/export/edge-vit.ts';
import { externalizeInitializers } from '../../../src/train/onnx/onnx-model-io.ts';
import { splitEncoder } from '../../../src/train/export/split-model.ts';
import { buildVisionGraph } from '../../../src/train/clip/vision-graph.ts';
import { DEFAULT_MODEL } from '../../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../../src/core/contract/sha256.ts';
import { ADMIN_TOKEN, type Api } from './storage-app.ts';

export interface ModelFiles {
  readonly onnx: Uint8Array<ArrayBuffer>;
  readonly data?: Uint8Array<ArrayBuffer>;
}

export function defaultOnnx(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(DEFAULT_MODEL.onnx).slice();
}

/**
 * The default model with a ModelProto.doc_string (field 6) appended: protobuf keeps the last value
 * of a repeated singular field, so onnxruntime loads the same graph from bytes with another sha256.
 */
export function variantOnnx(tag: string): Uint8Array<ArrayBuffer> {
  const text = new TextEncoder().encode(`prompt-edge test variant ${tag}`);
  if (text.length > 127) throw new Error('tag too long for a one-byte length');
  const base = defaultOnnx();
  const out = new Uint8Array(base.length + 2 + text.length);
  out.set(base, 0);
  out.set([0x32, text.length], base.length);
  out.set(text, base.length + 2);
  return out;
}

/** The default model with every weight as external data (`vision_model.onnx.data`). */
export function externalDataModel(): Required<ModelFiles> {
  const { model, data } = externalizeInitializers(defaultOnnx(), 'vision_model.onnx.data');
  return { onnx: new Uint8Array(model), data: new Uint8Array(data) };
}

/**
 * The default model's encoder as the project's own graph builder writes it from model.safetensors
 * (src/train/clip/vision-graph.ts): unlike the checkpoint's own export it can be cut between layers.
 * Same function as the bundled file within 1e-4 (test/train/vision-graph.test.ts), another sha256.
 */
export function projectGraph(): Uint8Array<ArrayBuffer> {
  const weights = parseSafetensors(new Uint8Array(modelSafetensors));
  const v = checkpointConfig.vision_config;
  const cfg = {
    width: v.hidden_size, layers: v.num_hidden_layers, heads: v.num_attention_heads, intermediateSize: v.intermediate_size,
    imageSize: v.image_size, patchSize: v.patch_size, numChannels: v.num_channels, projectionDim: checkpointConfig.projection_dim,
    layerNormEps: v.layer_norm_eps, hiddenAct: v.hidden_act as 'quick_gelu' | 'gelu',
  };
  return new Uint8Array(buildVisionGraph(cfg, (name) => {
    const t = weights.tensors.get(name);
    if (t === undefined) throw new Error(`model.safetensors has no ${name}`);
    return tensorToFloat32(t);
  }));
}

/**
 * The default model as the edge-vit engine's weight file, written in-test by the exporter
 * (`export-vision --engine edge-vit`) from the bundled model.safetensors.
 */
export function defaultEdgeVit(): Uint8Array<ArrayBuffer> {
  const weights = parseSafetensors(new Uint8Array(modelSafetensors));
  const tensor = (name: string) => {
    const t = weights.tensors.get(name);
    if (t === undefined) throw new Error(`model.safetensors has no ${name}`);
    return t;
  };
  // What the exporter reads of a checkpoint (loadCheckpoint needs node:fs, which workerd lacks).
  const ckpt: Pick<ClipCheckpoint, 'modelId' | 'config' | 'weight' | 'weightShape'> = {
    modelId: 'tiny-clip-cifar10',
    config: ClipConfigSchema.parse(checkpointConfig),
    weight: (name) => tensorToFloat32(tensor(name)),
    weightShape: (name) => tensor(name).shape,
  };
  const { preamble, data } = exportEdgeVit(ckpt as ClipCheckpoint);
  const file = new Uint8Array(preamble.byteLength + data.byteLength);
  file.set(preamble, 0);
  file.set(data, preamble.byteLength);
  return file;
}

/** Uploads an edge-vit weight file and publishes its manifest (engine "edge-vit"); returns its sha256. */
export async function publishEdgeVit(api: Api, weights: Uint8Array<ArrayBuffer>, id = 'tiny-edge-vit'): Promise<string> {
  const e = await entry(weights);
  const res = await putFile(api, e.sha256, 'vision_model.edge-vit', weights);
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload of vision_model.edge-vit: ${res.status} ${await res.text()}`);
  const manifest = { ...manifestFor({ onnx: e }, id), engine: 'edge-vit', files: { 'vision_model.edge-vit': e } };
  const pub = await api.call('PUT', `/v1/admin/models/${e.sha256}`, { json: manifest });
  if (pub.status !== 201 && pub.status !== 200) throw new Error(`publish of the manifest: ${pub.status} ${await pub.text()}`);
  return e.sha256;
}

/** `whole` cut into `parts` consecutive models, each with its weights as external data (what `model publish --parts` uploads). */
export function modelParts(whole: Uint8Array<ArrayBuffer>, parts: number): Array<Required<ModelFiles>> {
  return splitEncoder(whole, undefined, parts, partDataName).map((p) => ({ onnx: new Uint8Array(p.model), data: new Uint8Array(p.externalData!) }));
}

export const sha = (bytes: Uint8Array<ArrayBuffer>): Promise<string> => sha256Hex(bytes);

type Entry = { sha256: string; bytes: number };

/** A manifest for the default model's shape (dim 128, 32 px) and preprocessor. */
export function manifestFor(files: { onnx: Entry; data?: Entry; parts?: Array<{ onnx: Entry; data?: Entry }> }, id = 'tiny-from-r2'): Record<string, unknown> {
  return {
    id,
    dim: DEFAULT_MODEL.dim,
    image_size: DEFAULT_MODEL.imageSize,
    preprocessor_config: DEFAULT_MODEL.preprocessorConfig,
    files: { 'vision_model.onnx': files.onnx, ...(files.data ? { 'vision_model.onnx.data': files.data } : {}) },
    ...(files.parts ? { parts: files.parts } : {}),
  };
}

const entry = async (bytes: Uint8Array<ArrayBuffer>): Promise<Entry> => ({ sha256: await sha(bytes), bytes: bytes.byteLength });

/** PUT of one model file with Content-Length, as curl and the CLI send it. */
export function putFile(api: Api, modelSha: string, file: string, bytes: Uint8Array<ArrayBuffer>, query = '', headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    api.app.request(
      `/v1/admin/models/${modelSha}/${file}${query}`,
      {
        method: 'PUT',
        body: bytes,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength), ...headers },
      },
      api.env,
    ),
  );
}

/**
 * Uploads the files and publishes the manifest through the admin API; returns the model's sha256.
 * `parts`: the model also as consecutive parts (the worker then loads those).
 */
export async function publishModel(api: Api, files: ModelFiles & { parts?: ReadonlyArray<Required<ModelFiles>> }, id = 'tiny-from-r2'): Promise<string> {
  const onnxSha = await sha(files.onnx);
  const upload = async (name: string, bytes: Uint8Array<ArrayBuffer>): Promise<Entry> => {
    const e = await entry(bytes);
    const res = await putFile(api, onnxSha, name, bytes, name === 'vision_model.onnx' ? '' : `?sha256=${e.sha256}`);
    if (res.status !== 201 && res.status !== 200) throw new Error(`upload of ${name}: ${res.status} ${await res.text()}`);
    return e;
  };
  await upload('vision_model.onnx', files.onnx);
  const data = files.data ? await upload('vision_model.onnx.data', files.data) : undefined;
  const parts: Array<{ onnx: Entry; data: Entry }> = [];
  for (const [k, p] of (files.parts ?? []).entries()) {
    parts.push({ onnx: await upload(`vision_model.part${k}.onnx`, p.onnx), data: await upload(`vision_model.part${k}.onnx.data`, p.data) });
  }
  const manifest = manifestFor({ onnx: { sha256: onnxSha, bytes: files.onnx.byteLength }, ...(data ? { data } : {}), ...(files.parts ? { parts } : {}) }, id);
  const res = await api.call('PUT', `/v1/admin/models/${onnxSha}`, { json: manifest });
  if (res.status !== 201 && res.status !== 200) throw new Error(`publish of the manifest: ${res.status} ${await res.text()}`);
  return onnxSha;
}

/**
 * The real R2 binding behind a Proxy that records the key of every get(): what a test counts to
 * prove that concurrent first requests read the model once. Everything else passes through.
 */
export function countingBucket(real: R2Bucket): { bucket: R2Bucket; gets: string[] } {
  const gets: string[] = [];
  const bucket = new Proxy(real, {
    get(target, prop) {
      if (prop === 'get') {
        return (key: string, options?: R2GetOptions) => {
          gets.push(key);
          return target.get(key, options);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { bucket, gets };
}
