/** The stores bound to this request's R2 bucket and KV namespace. */
import type { Env } from '../env.ts';
import { HttpError } from '../http/errors.ts';
import { LabelSetStore } from './labelset-store.ts';
import { ModelStore } from './model-store.ts';
import { TenantStore } from './tenant-store.ts';

export interface Storage {
  readonly tenants: TenantStore;
  readonly labelSets: LabelSetStore;
  /** Vision models in R2 (the LABELSETS bucket, under models/). */
  readonly models: ModelStore;
}

export function storageFromEnv(env: Env): Storage {
  if (!env.LABELSETS || !env.REGISTRY) {
    throw new HttpError('internal', 'This worker has no LABELSETS (R2) or REGISTRY (KV) binding; add them to wrangler.toml (docs/storage.md).');
  }
  return {
    tenants: new TenantStore(env.LABELSETS, env.REGISTRY),
    labelSets: new LabelSetStore(env.LABELSETS, env.REGISTRY),
    models: new ModelStore(env.LABELSETS),
  };
}
