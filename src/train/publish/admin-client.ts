/**
 * A typed client of the worker's admin and tenant HTTP API (docs: the issue-4 contract).
 * Every failure becomes an AdminApiError whose message names the request, the HTTP status and the
 * server's own error code and message, plus a hint when the fix is known (start the worker, fix
 * the token).
 */
import { z } from 'zod';
import {
  classifyBody,
  healthBody,
  labelSetListBody,
  labelSetPublishedBody,
  labelSetDeletedBody,
  modelFileStoredBody,
  modelListBody,
  modelPublishedBody,
  rolledBackBody,
  tenantKeyBody,
  tenantListBody,
  type ClassifyBody,
  type LabelSetDeletedBody,
  type LabelSetListBody,
  type LabelSetPublishedBody,
  type LabelSetSummary,
  type ModelFileStoredBody,
  type ModelListBody,
  type ModelPublishedBody,
  type RolledBackBody,
  type TenantKeyBody,
  type TenantListBody,
} from '../../core/contract/api.ts';
import { errorBody, isErrorCode } from '../../core/contract/errors.ts';
import { checkLabelSetName, checkTenantId } from '../../core/contract/ids.ts';
import { modelManifest, type ModelManifestInput } from '../../core/contract/model-manifest.ts';
import { PromptEdgeError, type ErrorCode } from '../../core/errors.ts';
import { VISION_GRAPH, type ModelFileName } from '../../core/model-files.ts';
import { localPortHint, type Target } from './target.ts';

/** The error code for a failure whose body names no known code, from its HTTP status alone. */
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

// The contract says {"ok": true, "status": "ok", ...}; workers before it said only {"status": "ok"}
// (and a model name): both mean up, so the health check alone reads the older body too.
const health = z.union([
  healthBody,
  z.object({ status: z.literal('ok'), model: z.string().optional(), model_sha256: z.string().optional() }),
]);

export type LabelSetInfo = LabelSetSummary;
export type LabelSetList = LabelSetListBody;
export type TenantKey = TenantKeyBody;
export type TenantList = TenantListBody;
export type PublishedLabelSet = LabelSetPublishedBody;
export type RolledBackLabelSet = RolledBackBody;
export type DeletedLabelSet = LabelSetDeletedBody;
export type Health = z.infer<typeof health>;
export type Classification = ClassifyBody;
export type StoredModelFile = ModelFileStoredBody;
export type PublishedModel = ModelPublishedBody;
export type ModelList = ModelListBody;
/** What `PUT /v1/admin/models/:sha256` takes: the worker checks it against the stored files. */
export type ModelManifestUpload = OnnxManifestUpload | EdgeVitManifestUpload;
/** An ONNX encoder run by onnxruntime-web (manifests without `engine` mean this). */
export type OnnxManifestUpload = Exclude<ModelManifestInput, { engine: 'edge-vit' }>;
/** The edge-vit engine's weight file, streamed into WASM memory by the worker. */
export type EdgeVitManifestUpload = Extract<ModelManifestInput, { engine: 'edge-vit' }> & {
  /** Never: the worker streams the one weight file into the engine (typed so, callers read `parts` of either kind). */
  parts?: undefined;
};
export type { ModelFileEntry } from '../../core/contract/model-manifest.ts';
export { checkLabelSetName, checkTenantId };

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
    return this.admin(tenantKeyBody, { method: 'POST', path: '/v1/admin/tenants', what: `create tenant ${tenant}`, json: { tenant: checkTenantId(tenant) } });
  }

  async listTenants(): Promise<TenantList> {
    return this.admin(tenantListBody, { method: 'GET', path: '/v1/admin/tenants', what: 'list tenants' });
  }

  async rotateKey(tenant: string): Promise<TenantKey> {
    return this.admin(tenantKeyBody, { method: 'POST', path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/keys`, what: `rotate the key of tenant ${tenant}` });
  }

  async listLabelSets(tenant: string): Promise<LabelSetList> {
    return this.admin(labelSetListBody, { method: 'GET', path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets`, what: `list label sets of tenant ${tenant}` });
  }

  async putLabelSet(tenant: string, name: string, artifact: Uint8Array): Promise<PublishedLabelSet> {
    return this.admin(labelSetPublishedBody, {
      method: 'PUT',
      path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets/${seg(checkLabelSetName(name))}`,
      what: `upload label set ${tenant}/${name}`,
      bytes: artifact,
      contentType: 'application/octet-stream',
    });
  }

  /** Without `version`: back to the previous version. */
  async rollback(tenant: string, name: string, version?: string): Promise<RolledBackLabelSet> {
    return this.admin(rolledBackBody, {
      method: 'POST',
      path: `/v1/admin/tenants/${seg(checkTenantId(tenant))}/labelsets/${seg(checkLabelSetName(name))}/rollback`,
      what: `roll back label set ${tenant}/${name}${version ? ` to version ${version}` : ''}`,
      json: version === undefined ? {} : { version },
    });
  }

  async deleteLabelSet(tenant: string, name: string): Promise<DeletedLabelSet> {
    return this.admin(labelSetDeletedBody, {
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
    return this.admin(modelFileStoredBody, {
      method: 'PUT',
      path: `/v1/admin/models/${seg(modelSha256)}/${file}${query}`,
      what: `upload ${file} of model ${modelSha256.slice(0, 12)}`,
      bytes,
      contentType: 'application/octet-stream',
    });
  }

  /** Publishes an uploaded model by its manifest (again with the same manifest: `created: false`). */
  async publishModel(modelSha256: string, manifest: ModelManifestUpload): Promise<PublishedModel> {
    return this.admin(modelPublishedBody, { method: 'PUT', path: `/v1/admin/models/${seg(modelSha256)}`, what: `publish model ${manifest.id}`, json: manifest });
  }

  /** The manifest of a published model, or null when the worker has no model with this sha256. */
  async getModel(modelSha256: string): Promise<PublishedModel | null> {
    try {
      const m = await this.admin(modelManifest, { method: 'GET', path: `/v1/admin/models/${seg(modelSha256)}`, what: `get model ${modelSha256.slice(0, 12)}` });
      return { ...m, created: false };
    } catch (err) {
      if (err instanceof AdminApiError && err.serverCode === 'model_not_found') return null;
      throw err;
    }
  }

  async listModels(): Promise<ModelList> {
    return this.admin(modelListBody, { method: 'GET', path: '/v1/admin/models', what: 'list models' });
  }

  // --- tenant (Bearer tenant key) ------------------------------------------------------------
  async ownLabelSets(key: string): Promise<LabelSetList> {
    const what = 'list label sets with the tenant key';
    return this.parse(labelSetListBody, await this.request({ method: 'GET', path: '/v1/labelsets', what, token: key, auth: 'tenant' }), what);
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
    return this.parse(classifyBody, body, opts.what ?? 'classify');
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
    const code = isErrorCode(serverCode) ? serverCode : codeForStatus(res.status);
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
