/**
 * The Worker entry. Module scope runs once per isolate, so the app and its lazily loaded model and
 * label sets are shared by every request the isolate serves.
 */
import { createApp } from './app.ts';
import { keyResolverFromEnv } from './auth/env-keys.ts';
import { BundledLabelSetSource } from './labelsets/bundled-source.ts';
import { BUNDLED_LABEL_SETS } from './labelsets/catalog.ts';
import { DEFAULT_MODEL, DEFAULT_RUNTIME_OPTIONS } from './vision/default-model.ts';

const app = createApp({
  model: DEFAULT_MODEL,
  runtimeOptions: DEFAULT_RUNTIME_OPTIONS,
  labelSets: new BundledLabelSetSource(BUNDLED_LABEL_SETS),
  keys: keyResolverFromEnv,
});

export default app;
