/**
 * GET /healthz: liveness. Cheap on purpose (never loads the model: a model in R2 costs one read of
 * its small manifest per isolate); names the model label sets must match and where it comes from.
 */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import type { ServedModel } from '../vision/served-model.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface HealthDeps {
  /** The model this isolate serves (app.ts chose it from the env before any route runs). */
  readonly model: () => ServedModel;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/healthz', async (c) => {
    const model = deps.model();
    // An R2 model whose manifest is missing or corrupted answers 503 here too: the worker cannot classify.
    const d = await model.describe();
    const timings = model.loadTimings;
    return c.json({
      ok: true,
      status: 'ok',
      model: d.id,
      model_sha256: d.sha256,
      model_source: d.source,
      model_loaded: model.loaded,
      ...(timings ? { model_load_ms: timings } : {}),
    });
  });
  app.all('/healthz', methodNotAllowed('GET', 'HEAD'));
  return app;
}
