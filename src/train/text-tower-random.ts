/**
 * Seeded random text-tower weights with Hugging Face CLIPModel names, for gradient checks and for
 * timing the tower at real sizes (e.g. ViT-B/32's text width 512, 12 layers) without a checkpoint.
 */
import type { TextTowerConfig } from './clip/config.ts';
import { shapesByName, textTowerWeights } from './clip/weight-names.ts';
import type { WeightGetter } from './clip/weights.ts';
import { rngFor } from './random.ts';

/** The shape of every text-tower weight (plus text_projection), by HF name. */
export function textTowerWeightShapes(c: TextTowerConfig): Map<string, number[]> {
  return shapesByName(textTowerWeights(c));
}

/**
 * Random weights scaled like a trained transformer (matrices ~ U(-1,1)/sqrt(fan_in) * sqrt(3),
 * LayerNorm gains near 1), so activations stay O(1) and every nonlinearity is exercised. Each
 * tensor draws from its own stream (seed, name), so the values do not depend on listing order.
 */
export function randomTextTowerWeights(c: TextTowerConfig, seed = 1): { get: WeightGetter; shapes: Map<string, number[]> } {
  const values = new Map<string, Float64Array>();
  for (const { name, shape, role } of textTowerWeights(c)) {
    const rand = rngFor(seed, 'text-tower', name);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    const isLnGain = role === 'norm-gain';
    const isEmbedding = role === 'embedding';
    const fanIn = shape.length === 2 && !isEmbedding ? shape[1]! : 1;
    const scale = isEmbedding ? 1 : shape.length === 2 ? Math.sqrt(3 / fanIn) : 0.2;
    for (let j = 0; j < n; j++) data[j] = (isLnGain ? 1 : 0) + (2 * rand() - 1) * scale;
    values.set(name, data);
  }
  return {
    shapes: textTowerWeightShapes(c),
    get: (name) => {
      const v = values.get(name);
      if (!v) throw new Error(`no random weight named ${name}`);
      return v;
    },
  };
}
