/**
 * Admin: tenants and their keys. A new key is in the response body once and nowhere else: only its
 * SHA-256 is stored.
 */
import { Hono } from 'hono';
import type { RateLimitTierBody, TenantKeyBody, TenantListBody } from '../../core/contract/api.ts';
import type { Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import { readJsonObject } from '../http/json-body.ts';
import { DEFAULT_TIER, rateLimitTiers, TIER_NAME } from '../auth/rate-limit.ts';
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
    return c.json({ tenant: issued.tenant, key: issued.key } satisfies TenantKeyBody, 201);
  });

  app.get('/v1/admin/tenants', async (c) => {
    const storage = deps.storage(c.env);
    const tenants = await storage.tenants.list();
    const names = await Promise.all(tenants.map((t) => storage.labelSets.names(t.tenant)));
    return c.json({
      tenants: tenants.map((t, i) => ({ tenant: t.tenant, created_at: t.created_at, keys: t.keys.map((k) => ({ created_at: k.created_at })), labelsets: names[i]!, rate_limit_tier: t.rate_limit_tier ?? DEFAULT_TIER })),
    } satisfies TenantListBody);
  });
  app.all('/v1/admin/tenants', methodNotAllowed('GET', 'HEAD', 'POST'));

  app.post('/v1/admin/tenants/:tenant/keys', async (c) => {
    const issued = await deps.storage(c.env).tenants.rotateKey(parseTenantId(c.req.param('tenant')));
    return c.json({ tenant: issued.tenant, key: issued.key } satisfies TenantKeyBody);
  });
  app.all('/v1/admin/tenants/:tenant/keys', methodNotAllowed('POST'));

  // A tier is one of the deployment's RATE_LIMIT_<TIER> bindings; "default" (or null) clears it.
  app.put('/v1/admin/tenants/:tenant/rate-limit', async (c) => {
    const tenant = parseTenantId(c.req.param('tenant'));
    const raw = (await readJsonObject(c.req.raw))['tier'];
    const tiers = [...rateLimitTiers(c.env).keys()].sort();
    const available = tiers.length > 0 ? `this worker's tiers are ${tiers.map((t) => JSON.stringify(t)).join(', ')}` : 'this worker declares no RATE_LIMIT_<TIER> bindings in wrangler.toml';
    if (raw !== null && (typeof raw !== 'string' || !TIER_NAME.test(raw))) {
      throw new HttpError('invalid_argument', `tier must be a tier name (lower-case letters, digits, "_") or null for the default; ${available}. Got ${JSON.stringify(raw ?? null)}.`);
    }
    if (raw !== null && !tiers.includes(raw)) {
      throw new HttpError('invalid_argument', `There is no rate-limit tier "${raw}": ${available}. A tier is a [[ratelimits]] binding named RATE_LIMIT_${raw.toUpperCase()} in wrangler.toml.`);
    }
    const tier = raw === null || raw === DEFAULT_TIER ? null : raw;
    const record = await deps.storage(c.env).tenants.setRateLimitTier(tenant, tier);
    return c.json({ tenant: record.tenant, rate_limit_tier: record.rate_limit_tier ?? DEFAULT_TIER } satisfies RateLimitTierBody);
  });
  app.all('/v1/admin/tenants/:tenant/rate-limit', methodNotAllowed('PUT'));

  return app;
}
