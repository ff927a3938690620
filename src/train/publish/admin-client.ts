/**
 * A typed client of the worker's admin and tenant HTTP API (docs: the issue-4 contract).
 * Every failure becomes an AdminApiError whose message names the request, the HTTP status and the
 * server's own error code and message, plus a hint when the fix is known (start the worker, fix
 * the token).
 */
import { z } from 'zod';
import { PromptEdgeError, type ErrorCode } from '../../core/errors.ts';
import { VISION_DATA, VISION_EDGE_VIT, VISION_GRAPH, type ModelFileName } from '../../core/model-files.ts';
import { localPortHint, type Target } from './target.ts';

const KNOWN_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'invalid_argument', 'invalid_image', 'unsupported_media_type', 'payload_too_large', 'image_too_large', 'invalid_checkpoint',
  'invalid_artifact', 'model_mismatch', 'invalid_tokenizer', 'invalid_data', 'unauthorized', 'forbidden', 'not_found', 'conflict',
  'unavailable', 'internal',
]);

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid_argument';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 422: return 'invalid_artifact';
    case 502: case 503: case 504: return 'unavailable';
    default: return 'internal';
  }
}

/** A failed API call. `status` is 0 when no HTTP answer came back (connection refused, timeout). */
export class AdminApiError extends PromptEdgeError {
  readonly status: number;
  /** The server's `error.code` verbatim (e.g. "labelset_not_found"), or "" when it sent none. */
  readonly serverCode: string;
  constructor(code: ErrorCode, message: string, status: number, serverCode: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
    this.serverCode = serverCode;
  }
}

const version = z.union([z.string(), z.number()]).transform(String);

const labelSetInfo = z.object({
  name: z.string(),
  version,
  labels: z.array(z.string()),
  method: z.string(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  created_at: z.string().optional(),
  model_id: z.string().optional(),
});
const labelSetList = z.object({ tenant: z.string(), labelsets: z.array(labelSetInfo) });
const tenantKey = z.object({ tenant: z.string(), key: z.string().min(1) });
const tenantList = z.object({
  tenants: z.array(z.object({ tenant: z.string(), created_at: z.string().optional(), labelsets: z.array(z.string()).default([]) })),
});
const published = z.object({
  tenant: z.string(), name: z.string(), version, labels: z.array(z.string()), method: z.string(),
  // false: the worker already had these exact bytes as `version` (workers before this field: always new).
  created: z.boolean().default(true),
  made_current: z.boolean().default(true),
});
const rolledBack = z.object({ tenant: z.string(), name: z.string(), version });
const deleted = z.object({ tenant: z.string(), name: z.string(), deleted: z.literal(true) });
// The contract says {"ok": true, ...}; earlier workers said {"status": "ok", ...}: both mean up.
const health = z
  .object({ ok: z.boolean().optional(), status: z.string().optional(), model: z.string().optional(), model_sha256: z.string().optional() })
  .refine((h) => h.ok === true || h.status === 'ok', { message: 'expected "ok": true' });
const classification = z.object({
  labels: z.array(z.object({ label: z.string(), score: z.number() })),
  labelset: z.object({ tenant: z.string(), name: z.string(), version }),
  model: z.string().optional(),
  timings_ms: z.record(z.string(), z.number()).optional(),
});
const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const modelFileEntry = z.object({ sha256: z.string(), bytes: z.number() });
const storedModelFile = z.object({ sha256: z.string(), file: z.string(), bytes: z.number(), stored: z.enum(['created', 'exists']) });
const publishedModel = z.object({
  sha256: z.string(),
  /** Absent for models published before engines were named: onnxruntime. */
  engine: z.enum(['onnxruntime', 'edge-vit']).optional(),
  id: z.string(),
  dim: z.number(),
  image_size: z.number(),
  files: z.record(z.string(), modelFileEntry),
  parts: z.array(z.object({ onnx: modelFileEntry, data: modelFileEntry.optional() })).optional(),
  created_at: z.string(),
  created: z.boolean(),
});
const modelList = z.object({
  serving: z.string().nullable(),
  models: z.array(z.object({ sha256: z.string(), id: z.string(), engine: z.enum(['onnxruntime', 'edge-vit']).optional(), dim: z.number(), external_data: z.boolean(), parts: z.number().optional(), bytes: z.number(), created_at: z.string() })),
});

export type LabelSetInfo = z.infer<typeof labelSetInfo>;
export type LabelSetList = z.infer<typeof labelSetList>;
export type TenantKey = z.infer<typeof tenantKey>;
export type TenantList = z.infer<typeof tenantList>;
export type PublishedLabelSet = z.infer<typeof published>;
export type RolledBackLabelSet = z.infer<typeof rolledBack>;
export type DeletedLabelSet = z.infer<typeof deleted>;
export type Health = z.infer<typeof health>;
export type Classification = z.infer<typeof classification>;
export type StoredModelFile = z.infer<typeof storedModelFile>;
export type PublishedModel = z.infer<typeof publishedModel>;
export type ModelList = z.infer<typeof modelList>;

interface ManifestUploadBase {
  id: string;
  dim: number;
  image_size: number;
  preprocessor_config: unknown;
}

/** An ONNX encoder run by onnxruntime-web (manifests without `engine` mean this). */
export interface OnnxManifestUpload extends ManifestUploadBase {
  engine?: 'onnxruntime';
  files: { [VISION_GRAPH]: ModelFileEntry; [VISION_DATA]?: ModelFileEntry };
  /** The encoder as consecutive models (vision_model.part<k>.onnx [+ .data]), loaded one part at a time. */
  parts?: Array<{ onnx: ModelFileEntry; data?: ModelFileEntry }>;
}

/** The edge-vit engine's weight file, streamed into WASM memory by the worker. */
export interface EdgeVitManifestUpload extends ManifestUploadBase {
  engine: 'edge-vit';
  files: { [VISION_EDGE_VIT]: ModelFileEntry };
  /** Never: the worker streams the one weight file into the engine (typed so, callers read `parts` of either kind). */
  parts?: undefined;
}

/** What `PUT /v1/admin/models/:sha256` takes: the worker checks it against the stored files. */
export type ModelManifestUpload = OnnxManifestUpload | EdgeVitManifestUpload;

export interface ModelFileEntry {
  sha256: string;
  bytes: number;
}

export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const LABEL_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkTenantId(tenant: string): string {
  if (!TENANT_ID.test(tenant)) {
    throw new PromptEdgeError('invalid_argument', `tenant id "${tenant}" is not valid: use 1-63 characters of lower-case letters, digits, "_" or "-", starting with a letter or digit.`);
  }
  return tenant;
}

export function checkLabelSetName(name: string): string {
  if (!LABEL_SET_NAME.test(name)) {
    throw new PromptEdgeError('invalid_argument', `label set name "${name}" is not valid: use 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit.`);
  }
  return name;
}

/** One line on what a label-set upload did (a new version, or an existing one with the same bytes). */
export function describePublished(p: PublishedLabelSet): string {
  const what = `${p.tenant}/${p.name} version ${p.version}`;
  if (p.created) return `published ${what} (${p.method}, ${p.labels.length} labels)`;
  return p.made_current
    ? `${what} already holds these exact bytes: made it current again (no new version)`
    : `${what} already holds these exact bytes and is current: nothing to publish (no new version)`;
}

export interface AdminClientOptions {
  /** Per-request timeout; default 60 s (an upload or a cold-start classify can take a while). */
  timeoutMs?: number;
}

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Says what was being done, for error messages: "create tenant acme". */
  what: string;
  token: string;
  /** Which credential `token` is, for the 401 hint. */
  auth: 'admin' | 'tenant';
  json?: unknown;
  bytes?: Uint8Array;
  contentType?: string;
}

export class AdminClient {
  readonly target: Target;
  private readonly timeoutMs: number;

  constructor(target: Target, opts: AdminClientOptions = {}) {
    this.target = target;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  // --- no auth -------------------------------------------------------------------------------
  async health(): Promise<Health> {
    return this.parse(health, await this.request({ method: 'GET', path: '/healthz', what: 'health check', token: '', auth: 'admin' }), 'health check');
  }

  // --- admin ---------------------------------------------------------------------------------
  async createTenant(tenant: string): Promise<TenantKey> {
    return this.admin(tenantKey, { method: 'POST', path: '/v1/admin/tenants', what: `create tenant ${tenant}`, json: { tenant: checkTenantId(tenant) } });
  }

  async listTenants(): Promise<TenantList> {
    return this.admin(tenantList, { method: 'GET', path: '/v1/admin/tenants', what: 'list tenants' });
  }

  async rotateKey(tenant: string): Promise<TenantKey> {
    return this.admin(tenantKey, { method: 'POST', path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/keys`, what: `rotate the key of tenant ${tenant}` });
  }

  async listLabelSets(tenant: string): Promise<LabelSetList> {
    return this.admin(labelSetList, { method: 'GET', path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets`, what: `list label sets of tenant ${tenant}` });
  }

  async putLabelSet(tenant: string, name: string, artifact: Uint8Array): Promise<PublishedLabelSet> {
    return this.admin(published, {
      method: 'PUT',
      path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets/${seg(checkLabelSetName(name))}`,
      what: `upload label set ${tenant}/${name}`,
      bytes: artifact,
      contentType: 'application/octet-stream',
    });
  }

  /** Without `version`: back to the previous version. */
  async rollback(tenant: string, name: string, version?: string): Promise<RolledBackLabelSet> {
    return this.admin(rolledBack, {
      method: 'POST',
      path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets/${seg(checkLabelSetName(name))}/rollback`,
      what: `roll back label set ${tenant}/${name}${version ? ` to version ${version}` : ''}`,
      json: version === undefined ? {} : { version },
    });
  }

  async deleteLabelSet(tenant: string, name: string): Promise<DeletedLabelSet> {
    return this.admin(deleted, {
      method: 'DELETE',
      path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets/${seg(checkLabelSetName(name))}`,
      what: `delete label set ${tenant}/${name}`,
    });
  }

  /**
   * Streams one file of vision model `modelSha256` into the worker's R2, which refuses it unless
   * its sha256 is `fileSha256` (for vision_model.onnx, the model's own).
   */
  async putModelFile(modelSha256: string, file: ModelFileName, bytes: Uint8Array, fileSha256: string): Promise<StoredModelFile> {
    const query = file === VISION_GRAPH ? '' : `?sha256=${fileSha256}`;
    return this.admin(storedModelFile, {
      method: 'PUT',
      path: `/v1/admin/models/${seg(modelSha256)}/${file}${query}`,
      what: `upload ${file} of model ${modelSha256.slice(0, 12)}`,
      bytes,
      contentType: 'application/octet-stream',
    });
  }

  /** Publishes an uploaded model by its manifest (again with the same manifest: `created: false`). */
  async publishModel(modelSha256: string, manifest: ModelManifestUpload): Promise<PublishedModel> {
    return this.admin(publishedModel, { method: 'PUT', path: `/v1/admin/models/${seg(modelSha256)}`, what: `publish model ${manifest.id}`, json: manifest });
  }

  /** The manifest of a published model, or null when the worker has no model with this sha256. */
  async getModel(modelSha256: string): Promise<PublishedModel | null> {
    try {
      const m = await this.admin(publishedModel.extend({ created: z.boolean().optional() }), { method: 'GET', path: `/v1/admin/models/${seg(modelSha256)}`, what: `get model ${modelSha256.slice(0, 12)}` });
      return { ...m, created: false };
    } catch (err) {
      if (err instanceof AdminApiError && err.serverCode === 'model_not_found') return null;
      throw err;
    }
  }

  async listModels(): Promise<ModelList> {
    return this.admin(modelList, { method: 'GET', path: '/v1/admin/models', what: 'list models' });
  }

  // --- tenant (Bearer tenant key) ------------------------------------------------------------
  async ownLabelSets(key: string): Promise<LabelSetList> {
    const what = 'list label sets with the tenant key';
    return this.parse(labelSetList, await this.request({ method: 'GET', path: '/v1/labelsets', what, token: key, auth: 'tenant' }), what);
  }

  async classify(key: string, image: Uint8Array, opts: { labelset: string; topK?: number; contentType: string; what?: string }): Promise<Classification> {
    const q = new URLSearchParams({ labelset: checkLabelSetName(opts.labelset), ...(opts.topK ? { top_k: String(opts.topK) } : {}) });
    const body = await this.request({
      method: 'POST',
      path: `/v1/classify?${q}`,
      what: opts.what ?? `classify with label set ${opts.labelset}`,
      token: key,
      auth: 'tenant',
      bytes: image,
      contentType: opts.contentType,
    });
    return this.parse(classification, body, opts.what ?? 'classify');
  }

  // --- plumbing ------------------------------------------------------------------------------
  private async admin<T extends z.ZodType>(schema: T, spec: Omit<RequestSpec, 'token' | 'auth'>): Promise<z.output<T>> {
    return this.parse(schema, await this.request({ ...spec, token: this.target.adminToken, auth: 'admin' }), spec.what);
  }

  private parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
    const r = schema.safeParse(body);
    if (!r.success) {
      throw new AdminApiError('internal', `${what}: ${this.target.baseUrl} answered with an unexpected body (${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}). Is the worker's version in step with this CLI?`, 200, '');
    }
    return r.data;
  }

  private async request(spec: RequestSpec): Promise<unknown> {
    const url = `${this.target.baseUrl}${spec.path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.token) headers['authorization'] = `Bearer ${spec.token}`;
    let body: BodyInit | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.bytes) {
      headers['content-type'] = spec.contentType ?? 'application/octet-stream';
      body = spec.bytes as Uint8Array<ArrayBuffer>;
    }
    let res: Response;
    try {
      res = await fetch(url, { method: spec.method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (cause) {
      throw this.connectionError(spec, cause);
    }
    const text = await res.text();
    if (res.ok) {
      try {
        return text ? (JSON.parse(text) as unknown) : {};
      } catch (cause) {
        throw new AdminApiError('internal', `${spec.what}: ${url} answered HTTP ${res.status} with a body that is not JSON: ${snippet(text)}`, res.status, '', { cause });
      }
    }
    let serverCode = '';
    let serverMessage = snippet(text) || res.statusText;
    try {
      const e = errorBody.safeParse(JSON.parse(text));
      if (e.success) ({ code: serverCode, message: serverMessage } = e.data.error);
    } catch {
      // Not JSON (a proxy's HTML page, say): the snippet above is all there is.
    }
    const code = KNOWN_CODES.has(serverCode) ? (serverCode as ErrorCode) : codeForStatus(res.status);
    const hint = this.hintFor(res.status, spec, serverCode);
    throw new AdminApiError(code, `${spec.what} failed: HTTP ${res.status}${serverCode ? ` ${serverCode}` : ''}: ${serverMessage}${hint ? ` (${hint})` : ''}`, res.status, serverCode);
  }

  private hintFor(status: number, spec: RequestSpec, serverCode: string): string {
    if (status === 401 || status === 403) {
      if (spec.auth === 'tenant') return 'the tenant key was refused: check --tenant-key / PROMPT_EDGE_TENANT_KEY, or issue a new key with `npx prompt-edge tenant rotate-key`';
      return this.target.local
        ? 'the ADMIN_TOKEN in .dev.vars does not match the one the running worker loaded: restart `npm start` after editing .dev.vars'
        : 'check that PROMPT_EDGE_ADMIN_TOKEN holds the worker\'s ADMIN_TOKEN secret';
    }
    if (status === 404 && spec.path.startsWith('/v1/admin/') && (serverCode === 'not_found' || serverCode === '')) {
      return this.target.local
        ? 'if every admin route answers 404, the running worker predates the admin API: restart `npm start` on the current code'
        : 'if every admin route answers 404, the worker at this URL predates the admin API: deploy the current code';
    }
    return '';
  }

  private connectionError(spec: RequestSpec, cause: unknown): AdminApiError {
    const err = cause as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
      return new AdminApiError('unavailable', `${spec.what}: no answer from ${this.target.baseUrl} within ${Math.round(this.timeoutMs / 1000)} s.`, 0, '', { cause });
    }
    const sysCode = err?.cause?.code ?? '';
    const detail = sysCode || err?.cause?.message || err?.message || String(cause);
    if (this.target.local && (sysCode === 'ECONNREFUSED' || sysCode === 'ECONNRESET')) {
      return new AdminApiError('unavailable', `${spec.what}: cannot connect to the local worker at ${this.target.baseUrl} (${detail}): is \`npm start\` running? (${localPortHint(this.target.portFrom)})`, 0, '', { cause });
    }
    return new AdminApiError('unavailable', `${spec.what}: cannot reach ${this.target.baseUrl} (${detail}).`, 0, '', { cause });
  }
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}...` : t;
}
