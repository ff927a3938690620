/**
 * Admin: tenants and their keys. A new key is in the response body once and nowhere else: only its
 * SHA-256 is stored.
 */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { readJsonObject } from '../http/json-body.ts';
import { parseTenantId } from '../http/path-params.ts';
import type { Storage } from '../store/storage.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface AdminRouteDeps {
  readonly storage: (env: Env) => Storage;
}

export function adminTenantRoutes(deps: AdminRouteDeps) {
  const app = new Hono<{ Bindings: Env }>();

  app.post('/v1/admin/tenants', async (c) => {
    const tenant = parseTenantId((await readJsonObject(c.req.raw))['tenant']);
    const issued = await deps.storage(c.env).tenants.create(tenant);
    return c.json({ tenant: issued.tenant, key: issued.key }, 201);
  });

  app.get('/v1/admin/tenants', async (c) => {
    const storage = deps.storage(c.env);
    const tenants = await storage.tenants.list();
    const names = await Promise.all(tenants.map((t) => storage.labelSets.names(t.tenant)));
    return c.json({
      tenants: tenants.map((t, i) => ({ tenant: t.tenant, created_at: t.created_at, keys: t.keys.map((k) => ({ created_at: k.created_at })), labelsets: names[i]! })),
    });
  });
  app.all('/v1/admin/tenants', methodNotAllowed('GET', 'HEAD', 'POST'));

  app.post('/v1/admin/tenants/:tenant/keys', async (c) => {
    const issued = await deps.storage(c.env).tenants.rotateKey(parseTenantId(c.req.param('tenant')));
    return c.json({ tenant: issued.tenant, key: issued.key });
  });
  app.all('/v1/admin/tenants/:tenant/keys', methodNotAllowed('POST'));

  return app;
}
