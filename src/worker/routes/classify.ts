/** POST /v1/classify: authenticate, read the image, classify it against the tenant's label set. */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { readLimits } from '../env.ts';
import { requireTenant, type TenantVariables } from '../auth/require-tenant.ts';
import type { KeyResolver } from '../auth/key-resolver.ts';
import type { Classifier } from '../classify/classifier.ts';
import { keepAliveOf, type KeepAlive } from '../http/keep-alive.ts';
import { rateLimit } from '../auth/rate-limit.ts';
import { requestLogOf } from '../http/request-log.ts';
import { readImageUpload } from '../http/read-image.ts';
import { parseExifMode, parseLabelSetName, parseTopK } from '../http/query.ts';
import type { LabelSetRegistry } from '../labelsets/registry.ts';
import type { LabelSetSource } from '../labelsets/source.ts';
import type { VisionRuntime } from '../vision/runtime.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface ClassifyRouteDeps {
  readonly keys: (env: Env) => KeyResolver;
  readonly labelSets: (env: Env) => LabelSetSource;
  readonly registry: LabelSetRegistry;
  readonly classifier: Classifier;
  /** The served model's runtime (loaded on first use; `keepAlive` keeps the loading request alive). */
  readonly runtime: (keepAlive: KeepAlive) => Promise<VisionRuntime>;
}

export function classifyRoutes(deps: ClassifyRouteDeps) {
  const app = new Hono<{ Bindings: Env; Variables: TenantVariables }>();
  app.post('/v1/classify', requireTenant(deps.keys), rateLimit(), async (c) => {
    // Parameters are checked before the body is read: a bad query costs nothing.
    const log = requestLogOf(c);
    const topK = parseTopK(c.req.query('top_k'));
    const name = parseLabelSetName(c.req.query('labelset'));
    const exif = parseExifMode(c.req.query('exif'));
    log.labelSetName = name;
    const limits = readLimits(c.env);
    const bytes = await readImageUpload(c.req.raw, limits.maxBodyBytes);
    log.imageBytes = bytes.byteLength;
    const source = deps.labelSets(c.env);
    const result = await deps.classifier.classify(bytes, {
      runtime: () => deps.runtime(keepAliveOf(c)),
      // The tenant comes from the key, never from the request: a key only ever reaches its own label sets.
      labelSet: { tenant: c.var.tenant, name },
      lookup: async (ref) => {
        const resolved = await deps.registry.get(source, ref, limits.currentVersionTtlMs);
        log.labelSetVersion = resolved.version; // logged even when decoding fails after this
        return resolved;
      },
      topK,
      exif,
      maxImagePixels: limits.maxImagePixels,
      onHeader: (h) => {
        log.imageFormat = h.format;
        log.imageWidth = h.width;
        log.imageHeight = h.height;
      },
    });
    log.timings = result.timings_ms;
    return c.json(result);
  });
  app.all('/v1/classify', methodNotAllowed('POST'));
  return app;
}
