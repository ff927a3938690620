/**
 * Failures as responses, in the contract's error shape (core/contract/errors.ts) with the HTTP
 * status that matches the code. Known errors keep their actionable message; anything else becomes
 * a generic 500 so internals never leak into a response.
 */
import { STATUS_BY_CODE, type ErrorBody, type WireErrorCode } from '../../core/contract/errors.ts';
import { PromptEdgeError } from '../../core/errors.ts';

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
