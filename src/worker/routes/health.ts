/** GET /healthz: liveness. Cheap on purpose (never loads the model); names the model label sets must match. */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface HealthDeps {
  readonly modelId: string;
  /** sha256 of the deployed vision ONNX: a label set's `model_sha256` must equal it. */
  readonly modelSha256: () => Promise<string>;
  /** Whether this isolate has already loaded the model. */
  readonly modelLoaded: () => boolean;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/healthz', async (c) =>
    c.json({ ok: true, status: 'ok', model: deps.modelId, model_sha256: await deps.modelSha256(), model_loaded: deps.modelLoaded() }),
  );
  app.all('/healthz', methodNotAllowed('GET', 'HEAD'));
  return app;
}
