/** Label sets from storage: the current version from the KV mirror, the bytes from R2. */
import type { LabelSetStore } from '../store/labelset-store.ts';
import type { LabelSetRef, LabelSetSource } from './source.ts';

export class StoreLabelSetSource implements LabelSetSource {
  constructor(private readonly store: LabelSetStore) {}

  currentVersion(ref: LabelSetRef): Promise<string | null> {
    return this.store.currentVersion(ref.tenant, ref.name);
  }

  fetch(ref: LabelSetRef, version: string): Promise<Uint8Array | null> {
    return this.store.artifact(ref.tenant, ref.name, version);
  }
}
