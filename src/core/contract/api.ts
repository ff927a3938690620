/**
 * The request and response bodies of every route of the HTTP API (docs/api.md), as zod schemas.
 * The worker types what it answers with them (`satisfies ...Body`), the CLI's client parses what
 * it receives with them, and ROUTES lists which route takes and gives which (for documentation
 * generators and the route test). Objects are not strict: a client ignores fields newer than
 * itself, so adding a field to a response is compatible; removing or retyping one is not.
 */
import { z } from 'zod';
import { EXIF_MODES } from '../image/exif-orientation.ts';
import { VISION_DATA, VISION_ENGINES, VISION_GRAPH } from '../model-files.ts';
import { DEFAULT_LABEL_SET, labelSetName, labelSetVersion, modelId, sha256, tenantId, TIER_NAME } from './ids.ts';
import { modelManifest, modelManifestInput, storedManifestVariants } from './model-manifest.ts';

// --- GET /healthz ------------------------------------------------------------------------------

/** Where the isolate's first model load spent its time, ms. */
export const modelLoadTimings = z.object({ fetch: z.number(), verify: z.number(), session: z.number(), total: z.number() });

export const healthBody = z.object({
  ok: z.literal(true),
  status: z.literal('ok'),
  model: z.string(),
  /** What an uploaded label set's `model_sha256` must equal. */
  model_sha256: z.string(),
  model_source: z.enum(['bundled', 'r2']),
  /** What runs the model: onnxruntime-web or the edge-vit engine. */
  engine: z.enum(VISION_ENGINES),
  model_loaded: z.boolean(),
  model_load_ms: modelLoadTimings.optional(),
  /** Once loaded, measured in this isolate: whether the engine runs relaxed SIMD (null: not known), and its WASM memory. */
  engine_relaxed_simd: z.boolean().nullable().optional(),
  wasm_memory_bytes: z.number().nullable().optional(),
  /** The image decoders' WASM memory in this isolate (JPEG, and WebP/AVIF once used): the rest of the isolate's WASM. */
  image_decoder_wasm_bytes: z.number().optional(),
});

// --- POST /v1/classify -------------------------------------------------------------------------

export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 1000;

export const classifyQuery = z.object({
  top_k: z.coerce.number().int().min(1).max(MAX_TOP_K).default(DEFAULT_TOP_K),
  labelset: labelSetName.default(DEFAULT_LABEL_SET),
  /** `apply`: rotate the image as its EXIF orientation says; `ignore`: use the pixels as stored. */
  exif: z.enum(EXIF_MODES).default('apply'),
});

export const scoredLabel = z.object({ label: z.string(), score: z.number() });

/** Per-stage wall time, ms (a stage a worker adds comes as one more number). */
export const stageTimings = z.object({ decode: z.number(), preprocess: z.number(), encode: z.number(), score: z.number(), total: z.number() }).catchall(z.number());

export const classifyBody = z.object({
  labels: z.array(scoredLabel),
  labelset: z.object({ tenant: z.string(), name: z.string(), version: z.string() }),
  model: z.string(),
  timings_ms: stageTimings,
});

// --- label sets --------------------------------------------------------------------------------

/** What both the list routes and a label set's version details say of one published version. */
const versionFields = {
  /** Store-assigned: "1", "2", ... never reused for this (tenant, name), even after a delete. */
  version: z.string(),
  /** When this version was published. */
  created_at: z.string(),
  labels: z.array(z.string()),
  method: z.string(),
  metrics: z.record(z.string(), z.unknown()),
  model_id: z.string(),
  /** The artifact's own `version` metadata (a content digest written by the trainer). */
  content_version: z.string(),
  /** The artifact's own `created_at` (when it was trained). */
  trained_at: z.string(),
};

/** One label set as the list routes show it: its current version, plus the version history. */
export const labelSetSummary = z.object({
  name: z.string(),
  ...versionFields,
  /** Every published version, oldest first. */
  history: z.array(z.string()),
});

/** GET /v1/labelsets and GET /v1/admin/tenants/:t/labelsets. */
export const labelSetListBody = z.object({ tenant: z.string(), labelsets: z.array(labelSetSummary) });

/** One published version's details, as the store records it. */
export const labelSetVersionInfo = z.object({
  ...versionFields,
  /** sha256 and size of the artifact bytes in R2. */
  sha256: z.string(),
  bytes: z.number().int().nonnegative(),
});

/** GET /v1/admin/tenants/:t/labelsets/:name: the summary plus every version's details. */
export const labelSetDetailBody = labelSetSummary.extend({ tenant: z.string(), versions: z.array(labelSetVersionInfo) });

/** PUT /v1/admin/tenants/:t/labelsets/:name (the body is the artifact's bytes). */
export const labelSetPublishedBody = z.object({
  tenant: z.string(),
  name: z.string(),
  version: z.string(),
  labels: z.array(z.string()),
  method: z.string(),
  content_version: z.string(),
  /** false: the label set already had these exact bytes as `version` (answered 200, no new version). */
  created: z.boolean(),
  /** Whether `version` became current by this upload (false: it already was). */
  made_current: z.boolean(),
});

/** POST .../rollback: no version means the one before the current one. */
export const rollbackRequest = z.object({ version: z.union([labelSetVersion, z.number().int().positive()]).optional() });
export const rolledBackBody = z.object({ tenant: z.string(), name: z.string(), version: z.string() });

export const labelSetDeletedBody = z.object({ tenant: z.string(), name: z.string(), deleted: z.literal(true) });

// --- tenants -----------------------------------------------------------------------------------

export const createTenantRequest = z.object({ tenant: tenantId });

/** POST /v1/admin/tenants (201) and POST /v1/admin/tenants/:t/keys: the key, shown only here. */
export const tenantKeyBody = z.object({ tenant: z.string(), key: z.string().min(1) });

export const tenantListBody = z.object({
  tenants: z.array(
    z.object({
      tenant: z.string(),
      created_at: z.string(),
      keys: z.array(z.object({ created_at: z.string() })),
      labelsets: z.array(z.string()),
      /** The tenant's rate-limit tier ("default" unless set). */
      rate_limit_tier: z.string(),
    }),
  ),
});

/** PUT /v1/admin/tenants/:t/rate-limit: a RATE_LIMIT_<TIER> binding's tier name, or null (or "default") for the default. */
export const rateLimitTierRequest = z.object({ tier: z.string().regex(TIER_NAME, 'a tier name (lower-case letters, digits, "_")').nullable() });
export const rateLimitTierBody = z.object({ tenant: z.string(), rate_limit_tier: z.string() });

// --- vision models -----------------------------------------------------------------------------

/** PUT /v1/admin/models/:sha256/:file (201 created, 200 exists). */
export const modelFileStoredBody = z.object({ sha256, file: z.string(), file_sha256: sha256, bytes: z.number(), stored: z.enum(['created', 'exists']) });

/** PUT /v1/admin/models/:sha256 (201 created, 200 the same manifest again). */
export const modelPublishedBody = z.discriminatedUnion('engine', [
  storedManifestVariants[0].extend({ created: z.boolean() }),
  storedManifestVariants[1].extend({ created: z.boolean() }),
]);

export const modelSummary = z.object({
  sha256,
  id: modelId,
  engine: z.enum(VISION_ENGINES),
  dim: z.number(),
  image_size: z.number(),
  external_data: z.boolean(),
  /** 0 for a model in one piece. */
  parts: z.number(),
  bytes: z.number(),
  created_at: z.string(),
});

/** GET /v1/admin/models: `serving` is VISION_MODEL_SHA256, or null for the bundled model. */
export const modelListBody = z.object({ serving: z.string().nullable(), models: z.array(modelSummary) });

export type HealthBody = z.infer<typeof healthBody>;
export type ClassifyQuery = z.infer<typeof classifyQuery>;
export type ScoredLabelBody = z.infer<typeof scoredLabel>;
export type StageTimings = z.infer<typeof stageTimings>;
export type ClassifyBody = z.infer<typeof classifyBody>;
export type LabelSetSummary = z.infer<typeof labelSetSummary>;
export type LabelSetListBody = z.infer<typeof labelSetListBody>;
export type LabelSetVersionInfo = z.infer<typeof labelSetVersionInfo>;
export type LabelSetDetailBody = z.infer<typeof labelSetDetailBody>;
export type LabelSetPublishedBody = z.infer<typeof labelSetPublishedBody>;
export type RolledBackBody = z.infer<typeof rolledBackBody>;
export type LabelSetDeletedBody = z.infer<typeof labelSetDeletedBody>;
export type TenantKeyBody = z.infer<typeof tenantKeyBody>;
export type TenantListBody = z.infer<typeof tenantListBody>;
export type RateLimitTierBody = z.infer<typeof rateLimitTierBody>;
export type ModelFileStoredBody = z.infer<typeof modelFileStoredBody>;
export type ModelPublishedBody = z.infer<typeof modelPublishedBody>;
export type ModelSummary = z.infer<typeof modelSummary>;
export type ModelListBody = z.infer<typeof modelListBody>;

// --- the route table ---------------------------------------------------------------------------

export type Auth = 'none' | 'tenant' | 'admin';

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Hono-style path: `:name` segments. */
  readonly path: string;
  readonly auth: Auth;
  readonly summary: string;
  readonly query?: z.ZodType;
  /** A JSON body's schema, or what raw bytes the body carries. */
  readonly body?: z.ZodType | 'image' | 'octet-stream';
  /** Success statuses and their bodies; every route can also answer errors.ts's `errorBody`. */
  readonly responses: Readonly<Record<number, z.ZodType>>;
  /** The success body's media type when it is not JSON (the playground's HTML). */
  readonly produces?: 'text/html';
}

const LABELSET = '/v1/admin/tenants/:tenant/labelsets/:name';

/** Every route the worker serves (HEAD is served wherever GET is). */
export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', path: '/', auth: 'none', summary: 'The playground: an HTML page that classifies an image through this API (the demo key is filled in only locally).', responses: { 200: z.string() }, produces: 'text/html' },
  { method: 'GET', path: '/openapi.json', auth: 'none', summary: 'This OpenAPI 3.1 document, with this deployment\'s limits.', responses: { 200: z.record(z.string(), z.unknown()) } },
  { method: 'GET', path: '/healthz', auth: 'none', summary: 'Liveness and the served model (never loads it).', responses: { 200: healthBody } },
  { method: 'POST', path: '/v1/classify', auth: 'tenant', summary: "Classify one image against one of the caller's label sets.", query: classifyQuery, body: 'image', responses: { 200: classifyBody } },
  { method: 'GET', path: '/v1/labelsets', auth: 'tenant', summary: "The caller's label sets, current version of each.", responses: { 200: labelSetListBody } },
  { method: 'POST', path: '/v1/admin/tenants', auth: 'admin', summary: 'Create a tenant with one new key.', body: createTenantRequest, responses: { 201: tenantKeyBody } },
  { method: 'GET', path: '/v1/admin/tenants', auth: 'admin', summary: 'Every tenant and its label-set names.', responses: { 200: tenantListBody } },
  { method: 'POST', path: '/v1/admin/tenants/:tenant/keys', auth: 'admin', summary: "Replace all of a tenant's keys with one new key.", responses: { 200: tenantKeyBody } },
  { method: 'PUT', path: '/v1/admin/tenants/:tenant/rate-limit', auth: 'admin', summary: "Set a tenant's rate-limit tier.", body: rateLimitTierRequest, responses: { 200: rateLimitTierBody } },
  { method: 'GET', path: '/v1/admin/tenants/:tenant/labelsets', auth: 'admin', summary: "A tenant's label sets.", responses: { 200: labelSetListBody } },
  { method: 'GET', path: LABELSET, auth: 'admin', summary: 'One label set with every version.', responses: { 200: labelSetDetailBody } },
  { method: 'PUT', path: LABELSET, auth: 'admin', summary: 'Publish an artifact as the new current version (the same bytes again: that version, made current).', body: 'octet-stream', responses: { 201: labelSetPublishedBody, 200: labelSetPublishedBody } },
  { method: 'DELETE', path: LABELSET, auth: 'admin', summary: 'Delete a label set (its versions are never reused).', responses: { 200: labelSetDeletedBody } },
  { method: 'POST', path: `${LABELSET}/rollback`, auth: 'admin', summary: 'Make an earlier version current again.', body: rollbackRequest, responses: { 200: rolledBackBody } },
  { method: 'GET', path: '/v1/admin/models', auth: 'admin', summary: 'Published vision models and the one served.', responses: { 200: modelListBody } },
  { method: 'GET', path: '/v1/admin/models/:sha256', auth: 'admin', summary: "A published model's manifest.", responses: { 200: modelManifest } },
  { method: 'PUT', path: '/v1/admin/models/:sha256', auth: 'admin', summary: 'Publish an uploaded model by its manifest.', body: modelManifestInput, responses: { 201: modelPublishedBody, 200: modelPublishedBody } },
  {
    method: 'PUT',
    path: '/v1/admin/models/:sha256/:file',
    auth: 'admin',
    summary: `Stream one model file into R2 (${VISION_GRAPH}, ${VISION_DATA}, or a part's); other files than the graph give their sha256 as ?sha256=.`,
    query: z.object({ sha256: sha256.optional() }),
    body: 'octet-stream',
    responses: { 201: modelFileStoredBody, 200: modelFileStoredBody },
  },
];

