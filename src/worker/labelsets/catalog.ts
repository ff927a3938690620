/**
 * The label sets bundled into this deployment, one import per file under artifacts/labelsets/
 * (wrangler's Data rule turns each .safetensors import into an ArrayBuffer).
 */
import demoDefault from '../../../artifacts/labelsets/demo/default.safetensors';
import type { BundledLabelSet } from './bundled-source.ts';

export const BUNDLED_LABEL_SETS: readonly BundledLabelSet[] = [{ tenant: 'demo', name: 'default', bytes: demoDefault }];
