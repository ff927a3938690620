/**
 * Keys from the registry: the key is hashed and looked up as `keyhash:<sha256>` in KV, one read per
 * request. The lookup by hash reveals nothing about the key (SHA-256 is one-way and keys are
 * random); the stored hash is still compared in constant time before it is trusted.
 */
import type { TenantStore } from '../store/tenant-store.ts';
import { hashApiKey } from '../../core/contract/ids.ts';
import { timingSafeEqualBytes } from './constant-time.ts';
import type { Caller, KeyResolver } from './key-resolver.ts';

const encoder = new TextEncoder();

export class StoreKeyResolver implements KeyResolver {
  constructor(private readonly tenants: TenantStore) {}

  async resolve(key: string): Promise<Caller | null> {
    if (key.length === 0) return null;
    const sha256 = await hashApiKey(key);
    const rec = await this.tenants.tenantForKeyHash(sha256);
    if (rec === null) return null;
    if (!timingSafeEqualBytes(encoder.encode(rec.sha256), encoder.encode(sha256))) return null;
    return { tenant: rec.tenant, ...(rec.tier !== undefined ? { tier: rec.tier } : {}) };
  }
}
