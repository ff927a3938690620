/** GET /healthz: liveness. Cheap on purpose (never loads the model); says whether it is warm. */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface HealthDeps {
  readonly modelId: string;
  /** Whether this isolate has already loaded the model. */
  readonly modelLoaded: () => boolean;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/healthz', (c) => c.json({ status: 'ok', model: deps.modelId, model_loaded: deps.modelLoaded() }));
  app.all('/healthz', methodNotAllowed('GET', 'HEAD'));
  return app;
}
