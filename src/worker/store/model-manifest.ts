/**
 * The manifest of a vision model in R2 (models/<sha256>/manifest.json, docs/storage.md): what the
 * worker needs besides the ONNX bytes (id, embedding dim, input size, the preprocessor config) and
 * the sha256 and size of every file, checked again when the model is loaded.
 */
import { z } from 'zod';
import { MODEL_SHA256 } from './keys.ts';

export const MODEL_MANIFEST_FORMAT = 'prompt-edge/vision-model@1';

const sha256 = z.string().regex(MODEL_SHA256, 'a lower-case hex sha256 (64 digits)');
const fileEntry = z.object({ sha256, bytes: z.number().int().positive() }).strict();

/** What the uploader declares (PUT /v1/admin/models/:sha256); the worker adds format, sha256 and created_at. */
export const modelManifestInput = z
  .object({
    /** Reported by classify (`model`) and /healthz, e.g. "vit-b-32-int8". */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/, '1-128 characters of letters, digits, ".", "_", "/" or "-"'),
    /** Embedding dimension (projection_dim): label sets must have it. */
    dim: z.number().int().positive().max(65536),
    /** Input side in pixels (vision_config.image_size); must equal the preprocessor's crop size. */
    image_size: z.number().int().positive().max(4096),
    /** The checkpoint's preprocessor_config.json (CLIPImageProcessor). */
    preprocessor_config: z.record(z.string(), z.unknown()),
    files: z
      .object({
        'vision_model.onnx': fileEntry,
        /** Present when the model was exported with its weights as ONNX external data. */
        'vision_model.onnx.data': fileEntry.optional(),
      })
      .strict(),
  })
  .strict();

export const modelManifest = modelManifestInput.extend({
  format: z.literal(MODEL_MANIFEST_FORMAT),
  /** = files["vision_model.onnx"].sha256, the key the model is stored and configured under. */
  sha256,
  created_at: z.string(),
});

export type ModelManifestInput = z.infer<typeof modelManifestInput>;
export type ModelManifest = z.infer<typeof modelManifest>;

/** The uploader's fields only, in a fixed order: two uploads of one model compare equal on this. */
export function manifestContent(m: ModelManifestInput): string {
  const files: Record<string, unknown> = { 'vision_model.onnx': m.files['vision_model.onnx'] };
  if (m.files['vision_model.onnx.data']) files['vision_model.onnx.data'] = m.files['vision_model.onnx.data'];
  return JSON.stringify({ id: m.id, dim: m.dim, image_size: m.image_size, preprocessor_config: m.preprocessor_config, files });
}
