/**
 * Vision models for the R2 model tests, made in-test from the bundled default model: the same file,
 * a byte-different but equivalent file (another sha256, same embeddings), and the same model with
 * its weights as ONNX external data. Plus an R2 binding wrapper that counts reads.
 */
import { externalizeInitializers } from '../../../src/train/export/onnx-model-io.ts';
import { DEFAULT_MODEL } from '../../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../../src/worker/vision/model.ts';
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

export const sha = (bytes: Uint8Array<ArrayBuffer>): Promise<string> => sha256Hex(bytes);

/** A manifest for the default model's shape (dim 128, 32 px) and preprocessor. */
export function manifestFor(files: { onnx: { sha256: string; bytes: number }; data?: { sha256: string; bytes: number } }, id = 'tiny-from-r2'): Record<string, unknown> {
  return {
    id,
    dim: DEFAULT_MODEL.dim,
    image_size: DEFAULT_MODEL.imageSize,
    preprocessor_config: DEFAULT_MODEL.preprocessorConfig,
    files: { 'vision_model.onnx': files.onnx, ...(files.data ? { 'vision_model.onnx.data': files.data } : {}) },
  };
}

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

/** Uploads the files and publishes the manifest through the admin API; returns the model's sha256. */
export async function publishModel(api: Api, files: ModelFiles, id = 'tiny-from-r2'): Promise<string> {
  const onnxSha = await sha(files.onnx);
  const onnx = await putFile(api, onnxSha, 'vision_model.onnx', files.onnx);
  if (onnx.status !== 201 && onnx.status !== 200) throw new Error(`upload of vision_model.onnx: ${onnx.status} ${await onnx.text()}`);
  let data: { sha256: string; bytes: number } | undefined;
  if (files.data) {
    data = { sha256: await sha(files.data), bytes: files.data.byteLength };
    const res = await putFile(api, onnxSha, 'vision_model.onnx.data', files.data, `?sha256=${data.sha256}`);
    if (res.status !== 201 && res.status !== 200) throw new Error(`upload of vision_model.onnx.data: ${res.status} ${await res.text()}`);
  }
  const manifest = manifestFor({ onnx: { sha256: onnxSha, bytes: files.onnx.byteLength }, ...(data ? { data } : {}) }, id);
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
