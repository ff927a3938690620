/** The key resolver for the current single-tenant deployment: `demo`, keyed by the DEMO_API_KEY secret. */
import type { Env } from '../env.ts';
import { StaticKeyResolver, type KeyResolver } from './key-resolver.ts';

export const DEMO_TENANT = 'demo';

export function keyResolverFromEnv(env: Env): KeyResolver {
  return new StaticKeyResolver(env.DEMO_API_KEY ? [{ tenant: DEMO_TENANT, key: env.DEMO_API_KEY }] : []);
}
