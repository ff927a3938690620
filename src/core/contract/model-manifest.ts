/**
 * The manifest of a vision model in R2 (models/<sha256>/manifest.json, docs/storage.md), as the CLI
 * uploads it (PUT /v1/admin/models/:sha256) and the worker stores it: which engine runs it, what
 * the worker needs besides the weights (id, embedding dim, input size, the preprocessor config) and
 * the sha256 and size of every file, checked again when the model is loaded.
 *
 * Two engines: `onnxruntime` (an ONNX encoder run by onnxruntime-web; what a manifest without
 * `engine` means, as every manifest written before the field existed) and `edge-vit` (the project's
 * own int8 CLIP ViT engine, one weight file `vision_model.edge-vit`).
 */
import { z } from 'zod';
import { identityFile, MAX_MODEL_PARTS, partDataName, partGraphName, VISION_DATA, VISION_EDGE_VIT, VISION_GRAPH, type ModelFileName, type VisionEngineName } from '../model-files.ts';
import { modelId, sha256 } from './ids.ts';

export const MODEL_MANIFEST_FORMAT = 'prompt-edge/vision-model@1';

export const modelFileEntry = z.object({ sha256, bytes: z.number().int().positive() }).strict();
/** One part of an encoder cut into consecutive models: its graph and, when exported so, its external-data weights. */
const partEntry = z.object({ onnx: modelFileEntry, data: modelFileEntry.optional() }).strict();

/** What every manifest says, whatever runs the model. */
const common = {
  /** Reported by classify (`model`) and /healthz, e.g. "vit-b-32-int8". */
  id: modelId,
  /** Embedding dimension (projection_dim): label sets must have it. */
  dim: z.number().int().positive().max(65536),
  /** Input side in pixels (vision_config.image_size); must equal the preprocessor's crop size. */
  image_size: z.number().int().positive().max(4096),
  /** The checkpoint's preprocessor_config.json (CLIPImageProcessor). */
  preprocessor_config: z.record(z.string(), z.unknown()),
};

const onnxManifestInput = z
  .object({
    /** Absent in manifests written before engines were named: the same as "onnxruntime". */
    engine: z.literal('onnxruntime').optional(),
    ...common,
    files: z
      .object({
        'vision_model.onnx': modelFileEntry,
        /** Present when the model was exported with its weights as ONNX external data. */
        'vision_model.onnx.data': modelFileEntry.optional(),
      })
      .strict(),
    /**
     * The same encoder as consecutive models (vision_model.part<k>.onnx [+ .data]), loaded one
     * session per part so that the loader never holds more than one part's bytes. When present the
     * worker loads the parts, not the whole; `files` still records the whole graph, the model's identity.
     */
    parts: z.array(partEntry).min(2, 'a model in parts has at least 2 parts').max(MAX_MODEL_PARTS).optional(),
  })
  .strict();

const edgeVitManifestInput = z
  .object({
    engine: z.literal('edge-vit'),
    ...common,
    /** The engine's weight file (format prompt-edge/edge-vit-weights@1), streamed into WASM memory as it is read. */
    files: z.object({ 'vision_model.edge-vit': modelFileEntry }).strict(),
  })
  .strict();

/** What the uploader declares (PUT /v1/admin/models/:sha256); the worker adds format, sha256 and created_at. */
export const modelManifestInput = z.discriminatedUnion('engine', [onnxManifestInput, edgeVitManifestInput]);

const stored = {
  format: z.literal(MODEL_MANIFEST_FORMAT),
  /** = the sha256 of the identity file (vision_model.onnx or vision_model.edge-vit), the key the model is stored and configured under. */
  sha256,
  created_at: z.string(),
};
/** The stored manifest of each engine (GET /v1/admin/models/:sha256 answers it). */
export const storedManifestVariants = [onnxManifestInput.extend(stored), edgeVitManifestInput.extend(stored)] as const;
export const modelManifest = z.discriminatedUnion('engine', [...storedManifestVariants]);

export type ModelManifestInput = z.infer<typeof modelManifestInput>;
export type ModelManifest = z.infer<typeof modelManifest>;
export type OnnxModelManifest = Extract<ModelManifest, { files: { 'vision_model.onnx': unknown } }>;
export type EdgeVitModelManifest = Extract<ModelManifest, { engine: 'edge-vit' }>;
export type ModelFileEntry = z.infer<typeof modelFileEntry>;

/** The engine that serves a manifest's model (onnxruntime when it names none). */
export const manifestEngine = (m: ModelManifestInput): VisionEngineName => m.engine ?? 'onnxruntime';

/** The identity file's entry: its sha256 must be the model's. */
export function identityEntry(m: ModelManifestInput): { name: ModelFileName; entry: ModelFileEntry } {
  return m.engine === 'edge-vit' ? { name: VISION_EDGE_VIT, entry: m.files[VISION_EDGE_VIT] } : { name: identityFile('onnxruntime'), entry: m.files[VISION_GRAPH] };
}

/** Every file a manifest names, with its expected sha256 and size: the identity file, its weights, then each part's in order. */
export function manifestFiles(m: ModelManifestInput): Array<{ name: ModelFileName; entry: ModelFileEntry }> {
  if (m.engine === 'edge-vit') return [identityEntry(m)];
  const out: Array<{ name: ModelFileName; entry: ModelFileEntry }> = [{ name: VISION_GRAPH, entry: m.files[VISION_GRAPH] }];
  if (m.files[VISION_DATA]) out.push({ name: VISION_DATA, entry: m.files[VISION_DATA] });
  (m.parts ?? []).forEach((p, k) => {
    out.push({ name: partGraphName(k), entry: p.onnx });
    if (p.data) out.push({ name: partDataName(k), entry: p.data });
  });
  return out;
}

/** The uploader's fields only, in a fixed order: two uploads of one model compare equal on this. */
export function manifestContent(m: ModelManifestInput): string {
  const base = { id: m.id, dim: m.dim, image_size: m.image_size, preprocessor_config: m.preprocessor_config };
  if (m.engine === 'edge-vit') return JSON.stringify({ engine: m.engine, ...base, files: { [VISION_EDGE_VIT]: m.files[VISION_EDGE_VIT] } });
  // An ONNX manifest compares as before the field existed: "onnxruntime" and no engine are one model.
  const files: Record<string, unknown> = { 'vision_model.onnx': m.files['vision_model.onnx'] };
  if (m.files['vision_model.onnx.data']) files['vision_model.onnx.data'] = m.files['vision_model.onnx.data'];
  const parts = m.parts?.map((p) => (p.data ? { onnx: p.onnx, data: p.data } : { onnx: p.onnx }));
  return JSON.stringify({ ...base, files, ...(parts ? { parts } : {}) });
}
