/**
 * The one shape every failure takes on the wire, `{"error": {"code", "message"}}`, and the HTTP
 * status of each code. The worker answers with it; the CLI's client reads it back.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

/** Codes only HTTP routing and the stores produce, beside core's own (errors.ts). */
export const HTTP_ONLY_ERROR_CODES = ['method_not_allowed', 'tenant_not_found', 'labelset_not_found', 'version_not_found', 'model_not_found', 'rate_limited'] as const;

export const WIRE_ERROR_CODES = [...ERROR_CODES, ...HTTP_ONLY_ERROR_CODES] as const;

export type WireErrorCode = ErrorCode | (typeof HTTP_ONLY_ERROR_CODES)[number];

export const STATUS_BY_CODE: Readonly<Record<WireErrorCode, number>> = {
  invalid_argument: 400,
  invalid_image: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  image_too_large: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  tenant_not_found: 404,
  labelset_not_found: 404,
  version_not_found: 404,
  model_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  // The rest are server-side problems (a broken or mismatched deployed artifact), not bad input.
  invalid_checkpoint: 500,
  invalid_artifact: 500,
  model_mismatch: 500,
  invalid_tokenizer: 500,
  invalid_data: 500,
  internal: 500,
};

/**
 * The error body. `code` is read as any string: a client must cope with codes newer than itself
 * (it falls back on the HTTP status).
 */
export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), request_id: z.string().optional() }) });

export interface ErrorBody {
  /** `request_id` is the `x-request-id` of the response: what to quote when asking the operator. */
  error: { code: WireErrorCode; message: string; request_id?: string };
}

const CORE_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** True when `code` is one of core's error codes (those a PromptEdgeError can carry). */
export function isErrorCode(code: string): code is ErrorCode {
  return CORE_CODES.has(code);
}
