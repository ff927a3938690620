/**
 * Work shared by concurrent requests (the isolate's model load) runs in the request that started
 * it; if that client disconnects, workerd may cancel the request and strand the others awaiting
 * the same load. waitUntil keeps the starting request alive until the work settles.
 */
import type { Context } from 'hono';

/** Keeps the request that started a load alive until the load settles (ExecutionContext.waitUntil). */
export type KeepAlive = (work: Promise<unknown>) => void;

export function keepAliveOf(c: Context): KeepAlive {
  return (work) => {
    try {
      c.executionCtx.waitUntil(work);
    } catch {
      // No ExecutionContext (app.request() in tests): nothing to keep alive.
    }
  };
}
