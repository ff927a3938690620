/**
 * One structured JSON log line per request (docs/api.md, "Request logs"): what an operator needs to
 * answer "what happened to my request" from `wrangler tail` or Workers Logs, keyed by the request
 * id that the caller also gets in the `x-request-id` header and in every error body.
 *
 * What is never logged: the Authorization header (API key or admin token) and the image bytes.
 * Routes add facts to the record through `requestLogOf(c)`; only the fields declared here can be
 * set, so nothing else can slip into the line by accident.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { StageTimings } from '../../core/contract/api.ts';
import type { WireErrorCode } from '../../core/contract/errors.ts';

export interface RequestLogLine {
  readonly type: 'request';
  readonly request_id: string;
  readonly time: string;
  readonly method: string;
  /** The path only: the query holds no secret today, but it is the caller's, not the operator's. */
  readonly path: string;
  readonly status: number;
  /** The `error.code` of the response, null for a success. */
  readonly error: WireErrorCode | null;
  /** Wall time in the worker (on Cloudflare the clock only advances across I/O: see docs/api.md). */
  readonly duration_ms: number;
  readonly tenant: string | null;
  readonly labelset: { readonly name: string; readonly version: string | null } | null;
  readonly timings_ms: StageTimings | null;
  readonly image: { readonly bytes: number; readonly format: string | null; readonly width: number | null; readonly height: number | null } | null;
  /** The tenant's rate-limit tier when the request was checked against one. */
  readonly rate_limit_tier: string | null;
}

/** The mutable record a request fills in; emitted once, when the response is ready. */
export class RequestLog {
  tenant: string | null = null;
  labelSetName: string | null = null;
  labelSetVersion: string | null = null;
  timings: StageTimings | null = null;
  imageBytes: number | null = null;
  imageFormat: string | null = null;
  imageWidth: number | null = null;
  imageHeight: number | null = null;
  rateLimitTier: string | null = null;
  error: WireErrorCode | null = null;

  constructor(readonly requestId: string) {}

  line(req: { method: string; path: string }, status: number, durationMs: number, now: Date): RequestLogLine {
    return {
      type: 'request',
      request_id: this.requestId,
      time: now.toISOString(),
      method: req.method,
      path: req.path,
      status,
      error: this.error,
      duration_ms: Math.round(durationMs * 100) / 100,
      tenant: this.tenant,
      labelset: this.labelSetName === null ? null : { name: this.labelSetName, version: this.labelSetVersion },
      timings_ms: this.timings,
      image: this.imageBytes === null ? null : { bytes: this.imageBytes, format: this.imageFormat, width: this.imageWidth, height: this.imageHeight },
      rate_limit_tier: this.rateLimitTier,
    };
  }
}

export const REQUEST_ID_HEADER = 'x-request-id';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by requestLogger() for every request of the app (app.ts). */
    requestLog: RequestLog;
  }
}

/**
 * The request's log record. Routes run behind requestLogger() in the app; a route mounted on its
 * own (a unit test) gets a detached record so it never has to check.
 */
export function requestLogOf(c: Context): RequestLog {
  const existing = c.get('requestLog') as RequestLog | undefined;
  if (existing) return existing;
  const detached = new RequestLog(newRequestId());
  c.set('requestLog', detached);
  return detached;
}

/** 128 random bits, hex: unguessable, so an id seen in a support ticket reveals nothing else. */
export function newRequestId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

export type LogSink = (line: RequestLogLine) => void;

/** Workers Logs and `wrangler tail` index a JSON object logged as one string line. */
export const consoleSink: LogSink = (line) => console.log(JSON.stringify(line));

/**
 * First middleware of the app: gives the request its id, lets the routes fill the record, then
 * stamps `x-request-id` on whatever response came back (errors included) and emits one line.
 */
export function requestLogger(sink: LogSink = consoleSink): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const log = new RequestLog(newRequestId());
    c.set('requestLog', log);
    try {
      await next();
    } finally {
      // c.res is the error response when a route threw (app.onError ran inside next()).
      const status = c.res.status;
      c.res.headers.set(REQUEST_ID_HEADER, log.requestId);
      sink(log.line({ method: c.req.method, path: c.req.path }, status, performance.now() - started, new Date()));
    }
  };
}
