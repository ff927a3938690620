/** Label sets compiled into the Worker bundle (artifacts/labelsets/<tenant>/<name>.safetensors), one version each. */
import type { LabelSetRef, LabelSetSource } from './source.ts';

export interface BundledLabelSet {
  readonly tenant: string;
  readonly name: string;
  readonly bytes: ArrayBuffer | Uint8Array;
  /** The version reported for it; default "bundled". */
  readonly version?: string;
}

export class BundledLabelSetSource implements LabelSetSource {
  private readonly byKey = new Map<string, { bytes: Uint8Array; version: string }>();

  constructor(entries: readonly BundledLabelSet[]) {
    for (const e of entries) {
      // A JSON-style key so that no tenant/name pair can collide with another.
      this.byKey.set(JSON.stringify([e.tenant, e.name]), { bytes: e.bytes instanceof Uint8Array ? e.bytes : new Uint8Array(e.bytes), version: e.version ?? 'bundled' });
    }
  }

  async currentVersion(ref: LabelSetRef): Promise<string | null> {
    return this.byKey.get(JSON.stringify([ref.tenant, ref.name]))?.version ?? null;
  }

  async fetch(ref: LabelSetRef, version: string): Promise<Uint8Array | null> {
    const e = this.byKey.get(JSON.stringify([ref.tenant, ref.name]));
    return e !== undefined && e.version === version ? e.bytes : null;
  }
}
