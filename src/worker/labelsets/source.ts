/**
 * Where label sets come from. A source answers two questions: which version of a (tenant, name) is
 * current, and what the bytes of one version are. Decoding, checking against the deployed model
 * and caching are the registry's job (registry.ts).
 */
import type { TenantId } from '../auth/key-resolver.ts';

export interface LabelSetRef {
  readonly tenant: TenantId;
  /** The label set's name within the tenant, e.g. "default". */
  readonly name: string;
}

export interface LabelSetSource {
  /** The version classify should use now, or null when the tenant has no such label set. */
  currentVersion(ref: LabelSetRef): Promise<string | null>;
  /** The safetensors bytes of one version (versions are immutable), or null when it is gone. */
  fetch(ref: LabelSetRef, version: string): Promise<Uint8Array | null>;
}

/** Stable display form used in logs and error messages. */
export function refToString(ref: LabelSetRef): string {
  return `${ref.tenant}/${ref.name}`;
}
