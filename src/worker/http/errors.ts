/**
 * The one shape every failure takes on the wire: `{"error": {"code", "message"}}` with the HTTP
 * status that matches the code. Known errors keep their actionable message; anything else becomes
 * a generic 500 so internals never leak into a response.
 */
import { PromptEdgeError, type ErrorCode } from '../../core/errors.ts';

/** Core's error codes plus the ones only HTTP routing and the store have. */
export type WireErrorCode = ErrorCode | 'method_not_allowed' | 'tenant_not_found' | 'labelset_not_found' | 'version_not_found' | 'model_not_found' | 'rate_limited';

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

export interface ErrorBody {
  /** `request_id` is the `x-request-id` of the response: what to quote when asking the operator. */
  error: { code: WireErrorCode; message: string; request_id?: string };
}

/**
 * A failure decided by the HTTP layer itself (auth, routing, uploads), optionally with response
 * headers. `status` overrides the code's usual status: an artifact refused at upload is the
 * caller's fault (422), while the same code on a stored artifact is the operator's (500).
 */
export class HttpError extends Error {
  readonly code: WireErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: number;
  constructor(code: WireErrorCode, message: string, headers: Record<string, string> = {}, status: number = STATUS_BY_CODE[code]) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.headers = headers;
    this.status = status;
  }
}

export function errorResponse(code: WireErrorCode, message: string, headers: Readonly<Record<string, string>> = {}, status: number = STATUS_BY_CODE[code], requestId?: string): Response {
  const body: ErrorBody = { error: { code, message, ...(requestId !== undefined ? { request_id: requestId } : {}) } };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** Maps any thrown value to the error it is on the wire; unknown errors are logged and become 500 `internal`. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof PromptEdgeError) {
    // 5xx domain errors mean the deployment is broken (e.g. a label set built for another model):
    // the operator needs them in the logs; the caller still gets the actionable message.
    if (STATUS_BY_CODE[err.code] >= 500) console.error(`${err.name}: ${err.message}`);
    return new HttpError(err.code, err.message);
  }
  console.error('unhandled error', err);
  return new HttpError('internal', 'Internal error. Retry the request; if it keeps failing, contact the operator.');
}
