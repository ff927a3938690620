/**
 * Hono middleware: authenticates the bearer key and stores the caller's tenant in `c.var.tenant`.
 * The key itself is never stored, logged or echoed.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { requestLogOf } from '../http/request-log.ts';
import { bearerToken, unauthorized } from './bearer.ts';
import type { KeyResolver, TenantId } from './key-resolver.ts';

export interface TenantVariables {
  tenant: TenantId;
  /** The tenant's rate-limit tier; absent: the default. */
  tier: string | undefined;
}

export function requireTenant(resolverFor: (env: Env) => KeyResolver) {
  return createMiddleware<{ Bindings: Env; Variables: TenantVariables }>(async (c, next) => {
    const key = bearerToken(c.req.header('authorization') ?? null);
    const caller = await resolverFor(c.env).resolve(key);
    if (caller === null) throw unauthorized('Invalid API key.');
    c.set('tenant', caller.tenant);
    c.set('tier', caller.tier);
    requestLogOf(c).tenant = caller.tenant;
    await next();
  });
}
