/** GET /v1/labelsets: the caller's own label sets (current version, labels, method, metrics), from the KV mirror. */
import { Hono } from 'hono';
import type { LabelSetListBody } from '../../core/contract/api.ts';
import type { Env } from '../env.ts';
import type { KeyResolver } from '../auth/key-resolver.ts';
import { requireTenant, type TenantVariables } from '../auth/require-tenant.ts';
import { rateLimit } from '../auth/rate-limit.ts';
import type { Storage } from '../store/storage.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface LabelSetRouteDeps {
  readonly keys: (env: Env) => KeyResolver;
  readonly storage: (env: Env) => Storage;
}

export function labelSetRoutes(deps: LabelSetRouteDeps) {
  const app = new Hono<{ Bindings: Env; Variables: TenantVariables }>();
  app.get('/v1/labelsets', requireTenant(deps.keys), rateLimit(), async (c) => {
    const tenant = c.var.tenant;
    return c.json({ tenant, labelsets: await deps.storage(c.env).labelSets.listMirrored(tenant) } satisfies LabelSetListBody);
  });
  app.all('/v1/labelsets', methodNotAllowed('GET', 'HEAD'));
  return app;
}
