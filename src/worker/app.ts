/**
 * The Hono app: routes plus the error mapping that turns every failure into the JSON error shape
 * (docs/api.md). Dependencies are passed in, so tests and deployments wire their own key and
 * label-set sources without touching the routes; default-app.ts wires the real storage.
 */
import { Hono, type Context } from 'hono';
import type { Env } from './env.ts';
import type { KeyResolver } from './auth/key-resolver.ts';
import { requireAdmin } from './auth/require-admin.ts';
import { Classifier } from './classify/classifier.ts';
import { errorResponse, HttpError, toHttpError } from './http/errors.ts';
import { requestLogger, requestLogOf, type LogSink } from './http/request-log.ts';
import { LabelSetRegistry, type ModelExpectations, type RegistryOptions } from './labelsets/registry.ts';
import type { LabelSetSource } from './labelsets/source.ts';
import { adminLabelSetRoutes } from './routes/admin-labelsets.ts';
import { adminModelRoutes } from './routes/admin-models.ts';
import { adminTenantRoutes } from './routes/admin-tenants.ts';
import { classifyRoutes } from './routes/classify.ts';
import { healthRoutes } from './routes/health.ts';
import { labelSetRoutes } from './routes/labelsets.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { playgroundRoutes } from './routes/playground.ts';
import { storageFromEnv, type Storage } from './store/storage.ts';
import type { VisionModelSpec } from './vision/model.ts';
import type { VisionRuntimeOptions } from './vision/runtime.ts';
import { ModelChoice, type ModelChoiceOptions } from './vision/served-model.ts';

export interface AppDeps {
  /** The bundled model: served unless VISION_MODEL_SHA256 names a model in R2. */
  readonly model: VisionModelSpec;
  readonly runtimeOptions: VisionRuntimeOptions;
  /** Where models in R2 are read from and how a failed load is retried (default: LABELSETS, 5 s). */
  readonly models?: ModelChoiceOptions;
  readonly keys: (env: Env) => KeyResolver;
  readonly labelSets: (env: Env) => LabelSetSource;
  /** Tenants and label sets for GET /v1/labelsets and the admin API; default: the R2/KV bindings. */
  readonly storage?: (env: Env) => Storage;
  /**
   * Runs before the isolate's first /v1 request (the demo seed). A failure is logged, not fatal:
   * the request goes on and the next one tries again.
   */
  readonly seed?: (env: Env, expectations: () => Promise<ModelExpectations>) => Promise<void>;
  readonly registry?: RegistryOptions;
  /** Where the one JSON line per request goes (default: console.log, i.e. Workers Logs). */
  readonly logSink?: LogSink;
}

export function createApp(deps: AppDeps): Hono<{ Bindings: Env }> {
  // Created once per isolate (module scope of the entry), shared by all requests. The served model
  // is chosen from the env by the first middleware below, before any route can ask for it.
  const models = new ModelChoice(deps.model, deps.runtimeOptions, deps.models);
  const expectations = async (): Promise<ModelExpectations> => {
    const d = await models.served.describe();
    return { dim: d.dim, modelSha256: d.sha256 };
  };
  const registry = new LabelSetRegistry(expectations, deps.registry);
  const classifier = new Classifier();
  const storage = deps.storage ?? storageFromEnv;

  let seeded = deps.seed === undefined;
  let seeding: Promise<void> | null = null;

  const app = new Hono<{ Bindings: Env }>();
  app.use('*', requestLogger(deps.logSink));
  app.use('*', async (c, next) => {
    models.select(c.env);
    await next();
  });
  app.route('/', healthRoutes({ model: () => models.served }));
  app.route('/', playgroundRoutes());
  app.route('/', openApiRoutes());
  app.use('/v1/*', async (c, next) => {
    if (!seeded && deps.seed) {
      seeding ??= deps.seed(c.env, expectations).then(
        () => {
          seeded = true;
        },
        (err: unknown) => {
          seeding = null;
          console.error('seeding the demo tenant failed; retrying on the next request:', err);
        },
      );
      await seeding;
    }
    await next();
  });
  app.use('/v1/admin/*', requireAdmin());
  app.route('/', adminTenantRoutes({ storage }));
  app.route('/', adminLabelSetRoutes({ storage, expectations }));
  app.route('/', adminModelRoutes({ storage }));
  app.route('/', classifyRoutes({ keys: deps.keys, labelSets: deps.labelSets, registry, classifier, runtime: (keepAlive) => models.served.runtime(keepAlive) }));
  app.route('/', labelSetRoutes({ keys: deps.keys, storage }));
  // Every failure leaves through here: its code goes into the request's log line, its id into the body.
  const fail = (err: unknown, c: Context): Response => {
    const log = requestLogOf(c);
    const e = toHttpError(err);
    log.error = e.code;
    return errorResponse(e.code, e.message, e.headers, e.status, log.requestId);
  };
  app.notFound((c) => fail(new HttpError('not_found', `No route for ${c.req.method} ${c.req.path}. See docs/api.md.`), c));
  app.onError((err, c) => fail(err, c));
  return app;
}
