/**
 * The app as deployed: the bundled model (or the R2 model named by VISION_MODEL_SHA256), tenants and
 * label sets from R2/KV (docs/storage.md), and the demo tenant seeded from DEMO_API_KEY with the
 * bundled default label set.
 */
import type { Hono } from 'hono';
import { ModelMismatchError } from '../core/errors.ts';
import { decodeLabelSet } from '../core/labelset/artifact.ts';
import { createApp } from './app.ts';
import { StoreKeyResolver } from './auth/store-key-resolver.ts';
import type { Env } from './env.ts';
import { BUNDLED_LABEL_SETS } from './labelsets/catalog.ts';
import type { RegistryOptions } from './labelsets/registry.ts';
import { StoreLabelSetSource } from './labelsets/store-source.ts';
import { DEMO_LABEL_SET, DEMO_TENANT, seedDemo } from './store/seed.ts';
import { storageFromEnv } from './store/storage.ts';
import { DEFAULT_MODEL, DEFAULT_RUNTIME_OPTIONS } from './vision/default-model.ts';
import type { ModelChoiceOptions } from './vision/served-model.ts';

function bundledDemoDefault(): Uint8Array<ArrayBuffer> {
  const entry = BUNDLED_LABEL_SETS.find((s) => s.tenant === DEMO_TENANT && s.name === DEMO_LABEL_SET);
  if (!entry) throw new Error('the bundle has no demo/default label set (artifacts/labelsets/demo/default.safetensors)');
  // A copy: the seed hands these bytes to R2, which must not detach the bundled module's buffer.
  return new Uint8Array(entry.bytes).slice();
}

export function createDefaultApp(opts: { registry?: RegistryOptions; models?: ModelChoiceOptions } = {}): Hono<{ Bindings: Env }> {
  return createApp({
    model: DEFAULT_MODEL,
    runtimeOptions: DEFAULT_RUNTIME_OPTIONS,
    keys: (env) => new StoreKeyResolver(storageFromEnv(env).tenants),
    labelSets: (env) => new StoreLabelSetSource(storageFromEnv(env).labelSets),
    storage: storageFromEnv,
    seed: async (env, expectations) => {
      // No DEMO_API_KEY (e.g. production without a demo): nothing to seed.
      if (!env.DEMO_API_KEY) return;
      const bytes = bundledDemoDefault();
      try {
        await seedDemo(storageFromEnv(env), {
          key: env.DEMO_API_KEY,
          bytes,
          artifact: async () => decodeLabelSet(bytes, { ...(await expectations()), source: 'bundled demo/default label set' }),
        });
      } catch (err) {
        // A model from R2 other than the bundled one: the bundled label set cannot serve it, and
        // retrying on every request would not change that. The demo tenant is simply not seeded.
        if (!(err instanceof ModelMismatchError)) throw err;
        console.warn(`demo tenant not seeded: ${err.message}`);
      }
    },
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.models ? { models: opts.models } : {}),
  });
}
