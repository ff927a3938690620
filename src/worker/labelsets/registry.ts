/**
 * Decoded, model-checked label sets, loaded once per isolate per (tenant, name). A label set that
 * does not exist or fails to load is not cached, so fixing it in the source takes effect on the
 * next request.
 */
import type { DecodeExpectations, LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { decodeLabelSet } from '../../core/labelset/artifact.ts';
import { HttpError } from '../http/errors.ts';
import { lazy, type Lazy } from '../runtime/lazy.ts';
import { refToString, type LabelSetRef, type LabelSetSource } from './source.ts';

/** What a label set must match to be used with the deployed model. */
export type ModelExpectations = Required<Pick<DecodeExpectations, 'dim' | 'modelSha256'>>;

export class LabelSetRegistry {
  private readonly cache = new Map<string, Lazy<LabelSetArtifact>>();

  constructor(
    private readonly source: LabelSetSource,
    private readonly expectations: () => Promise<ModelExpectations>,
  ) {}

  get(ref: LabelSetRef): Promise<LabelSetArtifact> {
    const key = JSON.stringify([ref.tenant, ref.name]);
    let entry = this.cache.get(key);
    if (entry === undefined) {
      entry = lazy(() => this.load(ref));
      this.cache.set(key, entry);
    }
    return entry.get().catch((err: unknown) => {
      // lazy() already forgets the failed load; dropping the entry keeps the map from growing with
      // names that do not exist.
      if (this.cache.get(key) === entry && !entry.loaded) this.cache.delete(key);
      throw err;
    });
  }

  private async load(ref: LabelSetRef): Promise<LabelSetArtifact> {
    const [bytes, expect] = await Promise.all([this.source.fetch(ref), this.expectations()]);
    if (bytes === null) {
      throw new HttpError('not_found', `Label set "${ref.name}" does not exist for tenant "${ref.tenant}".`);
    }
    return decodeLabelSet(bytes, { ...expect, source: `label set ${refToString(ref)}` });
  }
}
