/**
 * Where label-set files come from. A source only finds bytes; decoding, checking them against the
 * deployed model and caching is the registry's job (registry.ts), so a KV/R2-backed source can
 * later replace the bundled one without touching anything else.
 */
import type { TenantId } from '../auth/key-resolver.ts';

export interface LabelSetRef {
  readonly tenant: TenantId;
  /** The label set's name within the tenant, e.g. "default". */
  readonly name: string;
}

export interface LabelSetSource {
  /** The safetensors bytes of the label set, or null when the tenant has no such label set. */
  fetch(ref: LabelSetRef): Promise<Uint8Array | null>;
}

/** Stable display form used in logs and error messages. */
export function refToString(ref: LabelSetRef): string {
  return `${ref.tenant}/${ref.name}`;
}
