/**
 * Bench-only worker entry: the production worker (src/worker/index.ts) plus `GET /__bench/gc`,
 * which runs V8's full garbage collection (workerd started with MINIFLARE_WORKERD_V8_FLAGS=--expose-gc).
 * The inspector's heap figures read right after it count live memory only; without it they also
 * count per-request buffers that V8 has not collected yet (it collects ArrayBuffers lazily, when
 * external memory grows by tens of MB). Never deployed: bench/rows/model-from-r2.ts's writeConfig
 * points `main` here only when asked to.
 */
import worker from '../../src/worker/index.ts';

type Fetch = (request: Request, env: unknown, ctx: unknown) => Response | Promise<Response>;

export default {
  fetch(request: Request, env: unknown, ctx: unknown): Response | Promise<Response> {
    if (new URL(request.url).pathname === '/__bench/gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc === undefined) return new Response('workerd was started without --expose-gc', { status: 501 });
      gc();
      return new Response('ok');
    }
    return (worker.fetch as Fetch)(request, env, ctx);
  },
};
