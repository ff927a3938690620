/**
 * Per-tenant rate limits with Cloudflare's Workers rate-limiting binding (docs/api.md, "Rate
 * limits"). A binding has one fixed rate, so a tier is a binding: `RATE_LIMIT_<TIER>` in
 * wrangler.toml (`[[ratelimits]]`), tier name = the suffix in lower case. Tenants without a tier
 * use RATE_LIMIT_DEFAULT. The counter key is the tenant id, so a tenant's burst only ever spends
 * its own budget, and rotating keys does not reset it.
 *
 * The binding counts per Cloudflare location and is eventually consistent (Cloudflare's docs): it
 * holds tenants to a rate, it is not an exact quota. Locally, miniflare emulates it exactly.
 */
import { createMiddleware } from 'hono/factory';
import type { TenantVariables } from './require-tenant.ts';
import type { Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import { requestLogOf } from '../http/request-log.ts';

export const RATE_LIMIT_BINDING_PREFIX = 'RATE_LIMIT_';
export const DEFAULT_TIER = 'default';
/** A tier name as the admin API takes it (core/contract/ids.ts): the binding's suffix in lower case. */
export { TIER_NAME } from '../../core/contract/ids.ts';
/**
 * The window of every tier binding (`simple.period` in wrangler.toml must be 60): the binding does
 * not expose its period, and Retry-After is computed from it.
 */
export const RATE_LIMIT_PERIOD_S = 60;

function isRateLimit(v: unknown): v is RateLimit {
  return typeof v === 'object' && v !== null && typeof (v as { limit?: unknown }).limit === 'function';
}

/** The tiers this deployment declares: tier name -> binding. */
export function rateLimitTiers(env: Env): Map<string, RateLimit> {
  const tiers = new Map<string, RateLimit>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(RATE_LIMIT_BINDING_PREFIX) && isRateLimit(value)) tiers.set(name.slice(RATE_LIMIT_BINDING_PREFIX.length).toLowerCase(), value);
  }
  return tiers;
}

/** Seconds until the current window ends (windows are aligned to the clock, as miniflare's are): 1..60. */
export function retryAfterSeconds(nowMs: number): number {
  return RATE_LIMIT_PERIOD_S - (Math.floor(nowMs / 1000) % RATE_LIMIT_PERIOD_S);
}

const warnedMissing = new Set<string>();

/**
 * After requireTenant(): counts the request against the tenant's tier and refuses it with 429
 * `rate_limited` (and Retry-After) over the limit. Without a RATE_LIMIT_DEFAULT binding (an app
 * wired without wrangler.toml's bindings: unit tests, the bench worker) nothing is limited.
 */
export function rateLimit(now: () => number = Date.now) {
  return createMiddleware<{ Bindings: Env; Variables: TenantVariables }>(async (c, next) => {
    const tiers = rateLimitTiers(c.env);
    let tier = c.var.tier ?? DEFAULT_TIER;
    let binding = tiers.get(tier);
    if (binding === undefined && tier !== DEFAULT_TIER) {
      // A tier whose binding was removed from wrangler.toml: the default rate, not an outage.
      if (!warnedMissing.has(tier)) console.warn(`rate limit: no binding ${RATE_LIMIT_BINDING_PREFIX}${tier.toUpperCase()} for tier "${tier}"; its tenants get the default tier`);
      warnedMissing.add(tier);
      tier = DEFAULT_TIER;
      binding = tiers.get(tier);
    }
    if (binding === undefined) return next();
    const tenant = c.var.tenant;
    requestLogOf(c).rateLimitTier = tier;
    let success: boolean;
    try {
      ({ success } = await binding.limit({ key: tenant }));
    } catch (err) {
      // The limiter failing must not take the API down with it: let the request through, loudly.
      console.error('rate limiter failed; request not limited:', err);
      return next();
    }
    if (!success) {
      const retry = retryAfterSeconds(now());
      throw new HttpError(
        'rate_limited',
        `Too many requests for tenant "${tenant}": its rate-limit tier "${tier}" allows a fixed number of requests per ${RATE_LIMIT_PERIOD_S} s. Retry after ${retry} s (Retry-After), spread requests out, or ask the operator for a higher tier.`,
        { 'retry-after': String(retry) },
      );
    }
    await next();
  });
}
