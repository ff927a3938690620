/**
 * Admin: vision models in R2 (docs/api.md, "Vision models"). A model is uploaded file by file, each
 * streamed into R2 with its sha256 (R2 refuses a body that does not match), then published by its
 * manifest, which is checked against what R2 holds. The isolate never buffers a model file here.
 */
import { Hono } from 'hono';
import type { ModelFileStoredBody, ModelListBody, ModelPublishedBody, ModelSummary } from '../../core/contract/api.ts';
import { SHA256_HEX } from '../../core/contract/ids.ts';
import { manifestEngine, manifestFiles, modelManifestInput, type ModelManifest, type ModelManifestInput } from '../../core/contract/model-manifest.ts';
import { PromptEdgeError, UnsupportedMediaTypeError } from '../../core/errors.ts';
import { ClipImageProcessor } from '../../core/image/clip-image-processor.ts';
import type { Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import { readJsonObject } from '../http/json-body.ts';
import { mediaType } from '../http/read-image.ts';
import { isDataFile, isIdentityFile, MAX_MODEL_PARTS, parseModelFileName, VISION_EDGE_VIT, type ModelFileName } from '../../core/model-files.ts';
import type { Storage } from '../store/storage.ts';
import { configuredModelSha256 } from '../vision/served-model.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface AdminModelRouteDeps {
  readonly storage: (env: Env) => Storage;
}

const FILE_TYPES = new Set(['', 'application/octet-stream']);

function parseSha256(raw: string | undefined, what: string): string {
  const sha = (raw ?? '').toLowerCase();
  if (!SHA256_HEX.test(sha)) throw new HttpError('invalid_argument', `${what} must be a sha256: 64 hex digits, got ${JSON.stringify(raw ?? null)}.`);
  return sha;
}

function parseFileName(raw: string): ModelFileName {
  const file = parseModelFileName(raw);
  if (file === null) {
    throw new HttpError('not_found', `A model has no file "${raw}": the files are vision_model.onnx, vision_model.onnx.data and, for a model in parts, vision_model.part<k>.onnx[.data] (k = 0..${MAX_MODEL_PARTS - 1}); or ${VISION_EDGE_VIT} for the edge-vit engine.`);
  }
  return file;
}

function modelNotFound(sha256: string): HttpError {
  return new HttpError('model_not_found', `No vision model ${sha256} is published. Upload it with \`npx prompt-edge model publish --model DIR\` (docs/api.md).`);
}

/** Content-Length is required: R2 needs the length of a streamed body up front. */
function declaredLength(request: Request): number {
  const raw = request.headers.get('content-length');
  if (raw === null || !/^\d+$/.test(raw.trim())) {
    throw new HttpError('invalid_argument', 'Send the file with a Content-Length header (curl --data-binary @FILE and the CLI do): the body is streamed into R2, which needs its length up front.', {}, 411);
  }
  const n = Number(raw);
  if (n === 0) throw new HttpError('invalid_argument', 'The body is empty: send the file as the body.');
  return n;
}

/** The manifest as uploaded: schema, then the preprocessor config (it must build, at the model's input size). */
export function validateManifestInput(body: unknown): ModelManifestInput {
  const r = modelManifestInput.safeParse(body);
  if (!r.success) {
    throw new HttpError('invalid_argument', `The model manifest is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`, {}, 422);
  }
  const input = r.data;
  let crop: { height: number; width: number };
  try {
    crop = ClipImageProcessor.fromConfig(input.preprocessor_config).cropSize;
  } catch (err) {
    throw new HttpError('invalid_argument', err instanceof PromptEdgeError ? err.message : 'preprocessor_config is not a CLIP image processor config.', {}, 422);
  }
  if (crop.height !== input.image_size || crop.width !== input.image_size) {
    throw new HttpError('invalid_argument', `preprocessor_config crops to ${crop.width}x${crop.height}, but image_size is ${input.image_size}: the encoder would get inputs of the wrong size.`, {}, 422);
  }
  return input;
}

function summary(m: ModelManifest): ModelSummary {
  const files = manifestFiles(m);
  return {
    sha256: m.sha256,
    id: m.id,
    engine: manifestEngine(m),
    dim: m.dim,
    image_size: m.image_size,
    external_data: files.some((f) => isDataFile(f.name)),
    parts: m.engine === 'edge-vit' ? 0 : (m.parts?.length ?? 0),
    bytes: files.reduce((n, f) => n + f.entry.bytes, 0),
    created_at: m.created_at,
  };
}

export function adminModelRoutes(deps: AdminModelRouteDeps) {
  const app = new Hono<{ Bindings: Env }>();
  const base = '/v1/admin/models';

  app.get(base, async (c) => {
    const models = await deps.storage(c.env).models.list();
    let serving: string | null = null;
    try {
      serving = configuredModelSha256(c.env);
    } catch {
      // A malformed VISION_MODEL_SHA256 is reported by the routes that need the model.
    }
    return c.json({ serving, models: models.map(summary) } satisfies ModelListBody);
  });
  app.all(base, methodNotAllowed('GET', 'HEAD'));

  app.get(`${base}/:sha256`, async (c) => {
    const sha = parseSha256(c.req.param('sha256'), 'The model in the path');
    const manifest = await deps.storage(c.env).models.manifest(sha);
    if (manifest === null) throw modelNotFound(sha);
    return c.json(manifest);
  });

  app.put(`${base}/:sha256`, async (c) => {
    const sha = parseSha256(c.req.param('sha256'), 'The model in the path');
    const input = validateManifestInput(await readJsonObject(c.req.raw));
    const { manifest, created } = await deps.storage(c.env).models.publish(sha, input);
    return c.json({ ...manifest, created } satisfies ModelPublishedBody, created ? 201 : 200);
  });
  app.all(`${base}/:sha256`, methodNotAllowed('GET', 'HEAD', 'PUT'));

  app.put(`${base}/:sha256/:file`, async (c) => {
    const sha = parseSha256(c.req.param('sha256'), 'The model in the path');
    const file = parseFileName(c.req.param('file'));
    // The identity file (ONNX graph or edge-vit weights) is stored under its own sha256; every other file's (weights, parts) comes with the request.
    const query = c.req.query('sha256');
    const fileSha = isIdentityFile(file) && query === undefined ? sha : parseSha256(query, `The sha256 of ${file} (?sha256=)`);
    const type = mediaType(c.req.header('content-type') ?? null);
    if (!FILE_TYPES.has(type)) throw new UnsupportedMediaTypeError(`Content-Type ${type} is not accepted for a model file: send it as application/octet-stream.`);
    const bytes = declaredLength(c.req.raw);
    const body = c.req.raw.body;
    if (body === null) throw new HttpError('invalid_argument', 'The body is empty: send the file as the body.');
    // FixedLengthStream gives R2 the length and fails the put if the body is shorter or longer.
    const outcome = await deps.storage(c.env).models.putFile(sha, file, body.pipeThrough(new FixedLengthStream(bytes)), bytes, fileSha);
    return c.json({ sha256: sha, file, file_sha256: fileSha, bytes, stored: outcome } satisfies ModelFileStoredBody, outcome === 'created' ? 201 : 200);
  });
  app.all(`${base}/:sha256/:file`, methodNotAllowed('PUT'));

  return app;
}
