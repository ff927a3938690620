/**
 * The Hono app: routes plus the error mapping that turns every failure into the JSON error shape
 * (docs/api.md). Dependencies are passed in, so tests and future deployments (KV keys, R2 label
 * sets) wire their own without touching the routes.
 */
import { Hono } from 'hono';
import type { Env } from './env.ts';
import type { KeyResolver } from './auth/key-resolver.ts';
import { Classifier } from './classify/classifier.ts';
import { HttpError, toErrorResponse } from './http/errors.ts';
import { LabelSetRegistry } from './labelsets/registry.ts';
import type { LabelSetSource } from './labelsets/source.ts';
import { lazy } from './runtime/lazy.ts';
import { classifyRoutes } from './routes/classify.ts';
import { healthRoutes } from './routes/health.ts';
import { sha256Hex, type VisionModelSpec } from './vision/model.ts';
import { loadVisionRuntime, type VisionRuntimeOptions } from './vision/runtime.ts';

export interface AppDeps {
  readonly model: VisionModelSpec;
  readonly runtimeOptions: VisionRuntimeOptions;
  readonly labelSets: LabelSetSource;
  readonly keys: (env: Env) => KeyResolver;
}

export function createApp(deps: AppDeps): Hono<{ Bindings: Env }> {
  // Created once per isolate (module scope of the entry), shared by all requests.
  const runtime = lazy(() => loadVisionRuntime(deps.model, deps.runtimeOptions));
  const modelSha256 = lazy(() => sha256Hex(deps.model.onnx));
  const registry = new LabelSetRegistry(deps.labelSets, async () => ({ dim: deps.model.dim, modelSha256: await modelSha256.get() }));
  const classifier = new Classifier(runtime, registry);

  const app = new Hono<{ Bindings: Env }>();
  app.route('/', healthRoutes({ modelId: deps.model.id, modelLoaded: () => runtime.loaded }));
  app.route('/', classifyRoutes({ keys: deps.keys, classifier }));
  app.notFound((c) => toErrorResponse(new HttpError('not_found', `No route for ${c.req.method} ${c.req.path}. See docs/api.md.`)));
  app.onError((err) => toErrorResponse(err));
  return app;
}
