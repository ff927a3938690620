/**
 * Admin: a tenant's label sets. An upload is checked completely (size, format, model, dimension,
 * finite values) before anything is written; it then becomes a new version, current only once its
 * artifact is fully in R2 (store/labelset-store.ts).
 */
import { Hono } from 'hono';
import type { LabelSetDeletedBody, LabelSetDetailBody, LabelSetListBody, LabelSetPublishedBody, RolledBackBody } from '../../core/contract/api.ts';
import { LABEL_SET_VERSION } from '../../core/contract/ids.ts';
import { InvalidArgumentError, PayloadTooLargeError, PromptEdgeError, UnsupportedMediaTypeError } from '../../core/errors.ts';
import { decodeLabelSet, type LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { readLimits, type Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import { readJsonObject } from '../http/json-body.ts';
import { parseLabelSetPathName, parseTenantId } from '../http/path-params.ts';
import { readRequestBody } from '../http/read-body.ts';
import { mediaType } from '../http/read-image.ts';
import { labelSetNotFound, tenantNotFound } from '../http/not-found.ts';
import type { ModelExpectations } from '../labelsets/registry.ts';
import { summarize } from '../store/labelset-store.ts';
import type { Storage } from '../store/storage.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface AdminLabelSetRouteDeps {
  readonly storage: (env: Env) => Storage;
  readonly expectations: () => Promise<ModelExpectations>;
}

const ARTIFACT_TYPES = new Set(['', 'application/octet-stream']);

/** Decodes and checks an upload; every way it can be wrong is the caller's problem: 422. */
export function validateUpload(bytes: Uint8Array, expect: ModelExpectations): LabelSetArtifact {
  if (bytes.byteLength === 0) throw new HttpError('invalid_artifact', 'The body is empty: send the label set file (a prompt-edge/labelset@1 safetensors file) as the body.', {}, 422);
  try {
    return decodeLabelSet(bytes, { ...expect, source: 'uploaded label set' });
  } catch (err) {
    if (err instanceof PromptEdgeError && (err.code === 'model_mismatch' || err.code === 'invalid_artifact')) throw new HttpError(err.code, err.message, {}, 422);
    throw new HttpError('invalid_artifact', 'The uploaded label set could not be parsed as a prompt-edge/labelset@1 safetensors file.', {}, 422);
  }
}

function parseVersion(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const v = typeof raw === 'number' ? String(raw) : raw;
  if (typeof v !== 'string' || !LABEL_SET_VERSION.test(v)) throw new InvalidArgumentError(`version must be a version number such as "2", got ${JSON.stringify(raw)}.`);
  return v;
}

export function adminLabelSetRoutes(deps: AdminLabelSetRouteDeps) {
  const app = new Hono<{ Bindings: Env }>();
  const base = '/v1/admin/tenants/:tenant/labelsets';

  /** The tenant named in the path, checked to exist: every route below is scoped by it. */
  async function tenantOf(storage: Storage, raw: string): Promise<string> {
    const tenant = parseTenantId(raw);
    if ((await storage.tenants.get(tenant)) === null) throw tenantNotFound(tenant);
    return tenant;
  }

  app.get(base, async (c) => {
    const storage = deps.storage(c.env);
    const tenant = await tenantOf(storage, c.req.param('tenant'));
    return c.json({ tenant, labelsets: await storage.labelSets.list(tenant) } satisfies LabelSetListBody);
  });
  app.all(base, methodNotAllowed('GET', 'HEAD'));

  app.get(`${base}/:name`, async (c) => {
    const storage = deps.storage(c.env);
    const tenant = await tenantOf(storage, c.req.param('tenant'));
    const name = parseLabelSetPathName(c.req.param('name'));
    const record = await storage.labelSets.get(tenant, name);
    const summary = record === null ? null : summarize(record);
    if (record === null || summary === null) throw labelSetNotFound(tenant, name);
    return c.json({ tenant, ...summary, versions: record.versions } satisfies LabelSetDetailBody);
  });

  app.put(`${base}/:name`, async (c) => {
    const storage = deps.storage(c.env);
    const tenant = await tenantOf(storage, c.req.param('tenant'));
    const name = parseLabelSetPathName(c.req.param('name'));
    const type = mediaType(c.req.header('content-type') ?? null);
    if (!ARTIFACT_TYPES.has(type)) throw new UnsupportedMediaTypeError(`Content-Type ${type} is not accepted for a label set: send the file as application/octet-stream.`);
    const limit = readLimits(c.env).maxArtifactBytes;
    const bytes = await readRequestBody(c.req.raw, limit, () => new PayloadTooLargeError(`The label set is larger than this worker's limit of ${limit} bytes (MAX_ARTIFACT_BYTES). Fewer classes, or F16 embeddings, make it smaller.`));
    const artifact = validateUpload(bytes, await deps.expectations());
    const published = await storage.labelSets.publish(tenant, name, bytes, artifact);
    // publish() only returns null with ifAbsent, which is not used here.
    if (published === null) throw new HttpError('internal', 'The label set was not published.');
    const { version: v, created, madeCurrent } = published;
    // Identical bytes again: 200 with the existing version (created: false), not a new version.
    return c.json(
      { tenant, name, version: v.version, labels: v.labels, method: v.method, content_version: v.content_version, created, made_current: madeCurrent } satisfies LabelSetPublishedBody,
      created ? 201 : 200,
    );
  });

  app.delete(`${base}/:name`, async (c) => {
    const storage = deps.storage(c.env);
    const tenant = await tenantOf(storage, c.req.param('tenant'));
    const name = parseLabelSetPathName(c.req.param('name'));
    await storage.labelSets.delete(tenant, name);
    return c.json({ tenant, name, deleted: true } satisfies LabelSetDeletedBody);
  });
  app.all(`${base}/:name`, methodNotAllowed('GET', 'HEAD', 'PUT', 'DELETE'));

  app.post(`${base}/:name/rollback`, async (c) => {
    const storage = deps.storage(c.env);
    const tenant = await tenantOf(storage, c.req.param('tenant'));
    const name = parseLabelSetPathName(c.req.param('name'));
    const version = parseVersion((await readJsonObject(c.req.raw))['version']);
    const record = await storage.labelSets.rollback(tenant, name, version);
    // A record rolled back to a version is live: its current version is set.
    if (record.current === null) throw new HttpError('internal', 'The label set has no current version after the rollback.');
    return c.json({ tenant, name, version: record.current } satisfies RolledBackBody);
  });
  app.all(`${base}/:name/rollback`, methodNotAllowed('POST'));

  return app;
}
