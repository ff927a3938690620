/**
 * Maps an API key to the tenant it belongs to. The worker only ever asks "whose key is this?";
 * where keys live (KV: store-key-resolver.ts; a fixed list: StaticKeyResolver) is the implementation's business.
 */
import { constantTimeEqual } from './constant-time.ts';

export type TenantId = string;

/** Who a valid key belongs to. */
export interface Caller {
  readonly tenant: TenantId;
  /** The tenant's rate-limit tier; absent: the default (auth/rate-limit.ts). */
  readonly tier?: string;
}

export interface KeyResolver {
  /** The caller owning `key`, or null when no tenant does. Must not log or echo the key. */
  resolve(key: string): Promise<Caller | null>;
}

export interface TenantKey {
  readonly tenant: TenantId;
  readonly key: string;
  readonly tier?: string;
}

/** A fixed list of (tenant, key) pairs, for apps wired without storage (tests). */
export class StaticKeyResolver implements KeyResolver {
  private readonly entries: readonly TenantKey[];

  constructor(entries: readonly TenantKey[]) {
    // An empty key would let an empty bearer token in: such entries are dropped, not matched.
    this.entries = entries.filter((e) => e.key.length > 0);
  }

  async resolve(key: string): Promise<Caller | null> {
    let match: Caller | null = null;
    // Compare against every entry, without stopping at the first hit, so timing does not reveal
    // which tenant (or whether any) matched.
    for (const e of this.entries) if ((await constantTimeEqual(key, e.key)) && match === null) match = { tenant: e.tenant, ...(e.tier !== undefined ? { tier: e.tier } : {}) };
    return match;
  }
}
