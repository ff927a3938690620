/**
 * The embedded default: the `demo` tenant, keyed by DEMO_API_KEY, with the bundled `default` label
 * set. Seeded into storage on an isolate's first request and idempotent: once the demo tenant
 * exists (even with a rotated key, or after its label set was deleted) nothing is seeded again.
 */
import type { LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { HttpError } from '../http/errors.ts';
import type { Storage } from './storage.ts';

export const DEMO_TENANT = 'demo';
export const DEMO_LABEL_SET = 'default';

export interface DemoSeed {
  readonly key: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The bundled artifact, decoded and checked against the model. */
  readonly artifact: () => Promise<LabelSetArtifact>;
}

/** Returns true when this call created the demo tenant. */
export async function seedDemo(storage: Storage, seed: DemoSeed): Promise<boolean> {
  if ((await storage.tenants.get(DEMO_TENANT)) !== null) return false;
  // The label set first and the tenant last: a seed cut short is finished by the next isolate's
  // seed, because the tenant (the "done" mark) is still missing. `ifAbsent` keeps concurrent seeds
  // from publishing the default twice.
  await storage.labelSets.publish(DEMO_TENANT, DEMO_LABEL_SET, seed.bytes, await seed.artifact(), { ifAbsent: true });
  try {
    await storage.tenants.create(DEMO_TENANT, seed.key);
    return true;
  } catch (err) {
    // Another isolate seeded it at the same moment: that is the idempotent outcome.
    if (err instanceof HttpError && err.code === 'conflict') return false;
    throw err;
  }
}
