/** Label sets compiled into the Worker bundle (artifacts/labelsets/<tenant>/<name>.safetensors). */
import type { LabelSetRef, LabelSetSource } from './source.ts';

export interface BundledLabelSet {
  readonly tenant: string;
  readonly name: string;
  readonly bytes: ArrayBuffer | Uint8Array;
}

export class BundledLabelSetSource implements LabelSetSource {
  private readonly byKey = new Map<string, Uint8Array>();

  constructor(entries: readonly BundledLabelSet[]) {
    for (const e of entries) {
      // A JSON-style key so that no tenant/name pair can collide with another.
      this.byKey.set(JSON.stringify([e.tenant, e.name]), e.bytes instanceof Uint8Array ? e.bytes : new Uint8Array(e.bytes));
    }
  }

  async fetch(ref: LabelSetRef): Promise<Uint8Array | null> {
    return this.byKey.get(JSON.stringify([ref.tenant, ref.name])) ?? null;
  }
}
