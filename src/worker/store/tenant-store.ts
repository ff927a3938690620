/**
 * Tenants and their API keys. The R2 record (registry/tenants/<t>.json) is the authority and is
 * only changed by compare-and-swap; KV holds what the request path reads: `keyhash:<sha256>` ->
 * tenant (one read per request) and a mirror of the record.
 */
import { generateApiKey, hashApiKey } from '../../core/contract/ids.ts';
import { HttpError } from '../http/errors.ts';
import { tenantNotFound } from '../http/not-found.ts';
import { kvKeys, r2Keys } from './keys.ts';
import { keyHashRecord, parseRecord, tenantRecord, type KeyHashRecord, type TenantRecord } from './records.ts';
import { MAX_CAS_ATTEMPTS, mirrorToKv, putJsonIf, readJson, type Versioned } from './r2-json.ts';

export interface IssuedKey {
  readonly tenant: string;
  /** The plaintext key: returned once, never stored. */
  readonly key: string;
}

function busy(what: string): HttpError {
  return new HttpError('unavailable', `${what} kept conflicting with concurrent changes; retry the request.`);
}

function tierField(tier: string | undefined): { tier?: string } {
  return tier === undefined ? {} : { tier };
}

export class TenantStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly kv: KVNamespace,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The authoritative record (strongly consistent), or null. */
  async get(tenant: string): Promise<TenantRecord | null> {
    return (await this.read(tenant))?.value ?? null;
  }

  /** Every tenant, sorted by id. */
  async list(): Promise<TenantRecord[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: r2Keys.tenantPrefix, ...(cursor ? { cursor } : {}) });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const records = await Promise.all(keys.map((k) => readJson(this.bucket, k, tenantRecord)));
    return records.flatMap((r) => (r ? [r.value] : [])).sort((a, b) => (a.tenant < b.tenant ? -1 : 1));
  }

  /**
   * Creates the tenant with one key (a new random one unless `key` is given: the demo seed passes
   * DEMO_API_KEY). Throws 409 `conflict` when the tenant exists; of two concurrent creates exactly
   * one succeeds (R2 create-only put).
   */
  async create(tenant: string, key: string = generateApiKey()): Promise<IssuedKey> {
    const at = this.now().toISOString();
    const sha256 = await hashApiKey(key);
    const record: TenantRecord = { tenant, created_at: at, keys: [{ sha256, created_at: at }], revision: 1 };
    const written = await putJsonIf(this.bucket, r2Keys.tenant(tenant), record, null);
    if (written === null) throw new HttpError('conflict', `Tenant "${tenant}" already exists. To issue a new key for it, use POST /v1/admin/tenants/${tenant}/keys (npx prompt-edge tenant rotate-key ${tenant}).`);
    await this.putKeyHash({ tenant, sha256, created_at: at });
    await this.mirror(written);
    return { tenant, key };
  }

  /**
   * Replaces all of the tenant's keys with one new key. Order: the new hash goes into KV first
   * (harmless: nobody knows the key yet), then the old hashes are deleted, then the record is
   * swapped. A crash midway leaves the old keys revoked and the record naming them: the tenant has
   * no working key until the rotation is re-run, but no revoked key ever stays valid.
   */
  async rotateKey(tenant: string): Promise<IssuedKey> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read(tenant);
      if (current === null) throw tenantNotFound(tenant);
      const key = generateApiKey();
      const at = this.now().toISOString();
      const sha256 = await hashApiKey(key);
      await this.putKeyHash({ tenant, sha256, created_at: at, ...tierField(current.value.rate_limit_tier) });
      await Promise.all(current.value.keys.map((k) => this.kv.delete(kvKeys.keyHash(k.sha256))));
      const next: TenantRecord = { ...current.value, keys: [{ sha256, created_at: at }], revision: current.value.revision + 1 };
      const written = await putJsonIf(this.bucket, r2Keys.tenant(tenant), next, current.etag);
      if (written !== null) {
        await this.mirror(written);
        return { tenant, key };
      }
      // Another rotation won: our key was never handed out, so it must not stay valid.
      await this.kv.delete(kvKeys.keyHash(sha256));
    }
    throw busy(`Rotating the key of tenant "${tenant}"`);
  }

  /**
   * Sets the tenant's rate-limit tier (null: back to the default). The record changes first, then
   * the KV key-hash entries of its keys, which the request path reads: a change reaches requests
   * within KV's propagation time (docs/storage.md).
   */
  async setRateLimitTier(tenant: string, tier: string | null): Promise<TenantRecord> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read(tenant);
      if (current === null) throw tenantNotFound(tenant);
      const { rate_limit_tier: _previous, ...rest } = current.value;
      const next: TenantRecord = { ...rest, ...(tier === null ? {} : { rate_limit_tier: tier }), revision: current.value.revision + 1 };
      const written = await putJsonIf(this.bucket, r2Keys.tenant(tenant), next, current.etag);
      if (written === null) continue;
      await Promise.all(next.keys.map((k) => this.putKeyHash({ tenant, sha256: k.sha256, created_at: k.created_at, ...tierField(next.rate_limit_tier) })));
      await this.mirror(written);
      return next;
    }
    throw busy(`Setting the rate-limit tier of tenant "${tenant}"`);
  }

  /** The tenant owning the key with this hash, from KV (the request path). */
  async tenantForKeyHash(sha256: string): Promise<KeyHashRecord | null> {
    const text = await this.kv.get(kvKeys.keyHash(sha256));
    return text === null ? null : parseRecord(keyHashRecord, text, kvKeys.keyHash(sha256.slice(0, 8) + '…'));
  }

  private read(tenant: string): Promise<Versioned<TenantRecord> | null> {
    return readJson(this.bucket, r2Keys.tenant(tenant), tenantRecord);
  }

  private putKeyHash(rec: KeyHashRecord): Promise<void> {
    return this.kv.put(kvKeys.keyHash(rec.sha256), JSON.stringify(rec));
  }

  private mirror(written: Versioned<TenantRecord>): Promise<void> {
    const tenant = written.value.tenant;
    return mirrorToKv(
      written,
      () => this.read(tenant),
      (v) => (v === null ? this.kv.delete(kvKeys.tenant(tenant)) : this.kv.put(kvKeys.tenant(tenant), JSON.stringify(v))),
    );
  }
}
