/**
 * The registry's records as stored (JSON, snake_case like the wire format). Records are written only
 * by this worker, but they are parsed on read anyway: a corrupted record must fail loudly as a 500,
 * not hand a half-formed object to the auth or classify path.
 */
import { z } from 'zod';
import { labelSetVersionInfo } from '../../core/contract/api.ts';
import { sha256 } from '../../core/contract/ids.ts';

const apiKeyRecord = z.object({
  /** Lower-case hex sha256 of the key; the key itself is never stored. */
  sha256,
  created_at: z.string(),
});

export const tenantRecord = z.object({
  tenant: z.string(),
  created_at: z.string(),
  keys: z.array(apiKeyRecord),
  /** Bumped on every change; the KV mirror carries it so a stale mirror can be recognised. */
  revision: z.number().int().nonnegative(),
  /** The tenant's rate-limit tier (a RATE_LIMIT_<TIER> binding, docs/api.md); absent: the default. */
  rate_limit_tier: z.string().optional(),
});

/** `tier` copies the tenant's rate-limit tier, so the one KV read that authenticates also limits. */
export const keyHashRecord = z.object({ tenant: z.string(), sha256: z.string(), created_at: z.string(), tier: z.string().optional() });

/** One published version: the admin API shows these entries as they are stored. */
export const labelSetVersion = labelSetVersionInfo;

export const labelSetRecord = z.object({
  tenant: z.string(),
  name: z.string(),
  /** The version classify uses; null only in a tombstone. */
  current: z.string().nullable(),
  /** Published versions, oldest first. Empty in a tombstone. */
  versions: z.array(labelSetVersion),
  /** The number the next publish tries first; kept in the tombstone so versions are never reused. */
  next_version: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  updated_at: z.string(),
  /** Set when the label set was deleted: the record stays as a tombstone. */
  deleted_at: z.string().optional(),
});

export type TenantRecord = z.infer<typeof tenantRecord>;
export type KeyHashRecord = z.infer<typeof keyHashRecord>;
export type LabelSetVersion = z.infer<typeof labelSetVersion>;
export type LabelSetRecord = z.infer<typeof labelSetRecord>;

/** Parses JSON text against `schema`; `where` names the storage key in the error. */
export function parseRecord<T extends z.ZodType>(schema: T, text: string, where: string): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new Error(`stored record ${where} is not valid JSON`, { cause });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`stored record ${where} is malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** The current version's entry of a live record (null for a tombstone). */
export function currentVersion(record: LabelSetRecord): LabelSetVersion | null {
  return record.current === null ? null : (record.versions.find((v) => v.version === record.current) ?? null);
}
