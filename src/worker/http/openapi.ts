/**
 * The OpenAPI 3.1 document of the HTTP API (GET /openapi.json), generated from the wire contract
 * (src/core/contract): ROUTES gives every route with the zod schemas that validate its query and
 * body and type its answers, and zod's own toJSONSchema turns them into JSON Schema 2020-12, which
 * OpenAPI 3.1 uses as is. Nothing here restates a schema: a contract change changes the document.
 *
 * The limits come from this worker's env (the vars and rate-limit tiers it runs with), so the
 * document a deployment serves says what that deployment enforces.
 */
import { z } from 'zod';
import { ROUTES, type RouteSpec } from '../../core/contract/api.ts';
import { errorBody, STATUS_BY_CODE, WIRE_ERROR_CODES } from '../../core/contract/errors.ts';
import { labelSetName, sha256, tenantId } from '../../core/contract/ids.ts';
import type { Limits } from '../env.ts';

type Json = { [key: string]: unknown };

export interface OpenApiOptions {
  readonly limits: Limits;
  /** Rate-limit tiers this worker declares (RATE_LIMIT_<TIER> bindings). */
  readonly rateLimitTiers: readonly string[];
  readonly rateLimitPeriodSeconds: number;
  readonly version: string;
}

/**
 * JSON Schema 2020-12 of a zod schema, as OpenAPI 3.1 embeds it (without its own $schema). Always
 * the parsing (input) side: for requests what the worker accepts, for responses what a client
 * accepts, so response objects stay open to fields newer than the client, as the contract intends.
 */
export function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** Hono's `/v1/x/:id` as OpenAPI's `/v1/x/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const PATH_PARAMS: Readonly<Record<string, { schema: z.ZodType; description: string }>> = {
  tenant: { schema: tenantId, description: 'Tenant id.' },
  name: { schema: labelSetName, description: 'Label-set name.' },
  sha256: { schema: sha256, description: 'sha256 of the model\'s vision_model.onnx: the model\'s identity.' },
  file: { schema: z.string(), description: 'vision_model.onnx, vision_model.onnx.data, or vision_model.part<k>.onnx[.data] for a model stored in parts.' },
};

const REQUEST_ID = { description: 'The request id: also in every error body and in the request\'s log line.', schema: { type: 'string' } };
const ERROR_REF = { $ref: '#/components/schemas/Error' };

function errorResponse(description: string, headers: Json = {}): Json {
  return { description, headers: { 'x-request-id': REQUEST_ID, ...headers }, content: { 'application/json': { schema: ERROR_REF } } };
}

function codesWithStatus(status: number): string {
  return Object.entries(STATUS_BY_CODE).filter(([, s]) => s === status).map(([c]) => `\`${c}\``).join(', ');
}

function parameters(route: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [, name] of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    const p = PATH_PARAMS[name!];
    out.push({ name, in: 'path', required: true, description: p?.description, schema: jsonSchemaOf(p?.schema ?? z.string()) });
  }
  if (route.query instanceof z.ZodObject) {
    for (const [name, schema] of Object.entries(route.query.shape as Record<string, z.ZodType>)) {
      // Optional or defaulted parameters accept their absence.
      out.push({ name, in: 'query', required: !schema.safeParse(undefined).success, schema: jsonSchemaOf(schema) });
    }
  }
  return out;
}

function requestBody(route: RouteSpec, limits: Limits): Json | undefined {
  const body = route.body;
  if (body === undefined) return undefined;
  const binary = { type: 'string', format: 'binary' };
  if (body === 'image') {
    return {
      required: true,
      description: `The image (JPEG, PNG, WebP, GIF, BMP, AVIF; the format is read from the bytes), at most ${limits.maxBodyBytes} bytes and ${limits.maxImagePixels} pixels (width x height).`,
      content: {
        'image/jpeg': { schema: binary },
        'image/png': { schema: binary },
        'application/octet-stream': { schema: binary },
        'multipart/form-data': { schema: { type: 'object', properties: { image: binary }, required: ['image'] } },
      },
    };
  }
  if (body === 'octet-stream') {
    return { required: true, content: { 'application/octet-stream': { schema: binary } } };
  }
  return { required: true, content: { 'application/json': { schema: jsonSchemaOf(body) } } };
}

function operation(route: RouteSpec, opts: OpenApiOptions): Json {
  const responses: Json = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    const html = route.produces === 'text/html';
    responses[status] = {
      description: route.summary,
      headers: { 'x-request-id': REQUEST_ID },
      content: html ? { 'text/html': { schema: { type: 'string' } } } : { 'application/json': { schema: jsonSchemaOf(schema) } },
    };
  }
  const limited = route.auth === 'tenant';
  const errors: Array<[number, Json]> = [];
  if (route.query || route.body || route.path.includes(':')) errors.push([400, errorResponse(`Bad input: ${codesWithStatus(400)}.`)]);
  if (route.auth !== 'none') errors.push([401, errorResponse('Missing, malformed or unknown key or token: `unauthorized`.', { 'www-authenticate': { schema: { type: 'string' } } })]);
  if (route.path.includes(':') || route.auth === 'tenant') errors.push([404, errorResponse(`Not found: ${codesWithStatus(404)}.`)]);
  if (route.auth === 'admin') errors.push([409, errorResponse('`conflict`.')]);
  if (route.body !== undefined) {
    errors.push([413, errorResponse('`payload_too_large`: the body is over the limit.')]);
    errors.push([415, errorResponse('`unsupported_media_type`.')]);
    errors.push([422, errorResponse(`${codesWithStatus(422)}.`)]);
  }
  if (limited) {
    errors.push([429, errorResponse(`\`rate_limited\`: the tenant is over its tier's rate (requests per ${opts.rateLimitPeriodSeconds} s).`, { 'retry-after': { description: 'Seconds until the current window ends.', schema: { type: 'integer', minimum: 1 } } })]);
  }
  errors.push([500, errorResponse(`A deployment problem: ${codesWithStatus(500)}.`)]);
  if (route.auth !== 'none' || route.path === '/healthz') errors.push([503, errorResponse('`unavailable`: retry (see Retry-After when given).')]);
  for (const [status, r] of errors) if (responses[status] === undefined) responses[status] = r;
  return {
    summary: route.summary,
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[:/._-]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
    tags: [route.auth === 'admin' ? 'admin' : route.auth === 'tenant' ? 'tenant' : 'public'],
    security: route.auth === 'tenant' ? [{ tenantKey: [] }] : route.auth === 'admin' ? [{ adminToken: [] }] : [],
    parameters: parameters(route),
    ...(requestBody(route, opts.limits) ? { requestBody: requestBody(route, opts.limits) } : {}),
    responses,
  };
}

export function openApiDocument(opts: OpenApiOptions, routes: readonly RouteSpec[] = ROUTES): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = (paths[openApiPath(route.path)] ??= {});
    path[route.method.toLowerCase()] = operation(route, opts);
  }
  const l = opts.limits;
  return {
    openapi: '3.1.0',
    info: {
      title: 'prompt-edge',
      version: opts.version,
      description: [
        'Image classification with CLIP at the edge: each tenant classifies images against its own label sets (docs/api.md).',
        '',
        `Limits of this deployment: request body ${l.maxBodyBytes} bytes, image ${l.maxImagePixels} pixels, label-set upload ${l.maxArtifactBytes} bytes, top_k at most 1000; `
          + `tenant routes are rate-limited per tenant by tier (${opts.rateLimitTiers.join(', ') || 'none declared'}; requests per ${opts.rateLimitPeriodSeconds} s), over the limit 429 \`rate_limited\` with Retry-After.`,
      ].join('\n'),
    },
    'x-limits': {
      max_body_bytes: l.maxBodyBytes,
      max_image_pixels: l.maxImagePixels,
      max_artifact_bytes: l.maxArtifactBytes,
      max_top_k: 1000,
      rate_limit: { period_seconds: opts.rateLimitPeriodSeconds, tiers: opts.rateLimitTiers, counted_per: 'tenant' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'public', description: 'No key.' },
      { name: 'tenant', description: 'A tenant API key; rate-limited per tenant.' },
      { name: 'admin', description: 'The ADMIN_TOKEN secret; not rate-limited.' },
    ],
    paths,
    components: {
      securitySchemes: {
        tenantKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key ("pe_" + 48 hex digits), issued by the admin API.' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The worker\'s ADMIN_TOKEN secret.' },
      },
      schemas: {
        Error: { ...jsonSchemaOf(errorBody), description: 'Every failure. `error.code` is one of ErrorCode (clients must accept codes newer than themselves); `error.request_id` equals the x-request-id header.' },
        ErrorCode: { type: 'string', enum: [...WIRE_ERROR_CODES], description: Object.entries(STATUS_BY_CODE).map(([c, s]) => `${c}: ${s}`).join(', ') },
      },
    },
  };
}
