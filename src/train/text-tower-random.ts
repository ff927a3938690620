/**
 * Seeded random text-tower weights with Hugging Face CLIPModel names, for gradient checks and for
 * timing the tower at real sizes (e.g. ViT-B/32's text width 512, 12 layers) without a checkpoint.
 */
import { mulberry32 } from './random.ts';
import type { TextTowerConfig, WeightGetter } from './text-tower-graph.ts';


/** The shape of every text-tower weight, by HF name. */
export function textTowerWeightShapes(c: TextTowerConfig): Map<string, number[]> {
  const W = c.width;
  const shapes = new Map<string, number[]>([
    ['text_model.embeddings.token_embedding.weight', [c.vocabSize, W]],
    ['text_model.embeddings.position_embedding.weight', [c.contextLength, W]],
    ['text_model.final_layer_norm.weight', [W]],
    ['text_model.final_layer_norm.bias', [W]],
    ['text_projection.weight', [c.projectionDim, W]],
  ]);
  for (let i = 0; i < c.layers; i++) {
    const p = `text_model.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes.set(`${p}.self_attn.${proj}.weight`, [W, W]);
      shapes.set(`${p}.self_attn.${proj}.bias`, [W]);
    }
    for (const ln of ['layer_norm1', 'layer_norm2']) {
      shapes.set(`${p}.${ln}.weight`, [W]);
      shapes.set(`${p}.${ln}.bias`, [W]);
    }
    shapes.set(`${p}.mlp.fc1.weight`, [c.intermediateSize, W]);
    shapes.set(`${p}.mlp.fc1.bias`, [c.intermediateSize]);
    shapes.set(`${p}.mlp.fc2.weight`, [W, c.intermediateSize]);
    shapes.set(`${p}.mlp.fc2.bias`, [W]);
  }
  return shapes;
}

/**
 * Random weights scaled like a trained transformer (matrices ~ U(-1,1)/sqrt(fan_in) * sqrt(3),
 * LayerNorm gains near 1), so activations stay O(1) and every nonlinearity is exercised.
 */
export function randomTextTowerWeights(c: TextTowerConfig, seed = 1): { get: WeightGetter; shapes: Map<string, number[]> } {
  const shapes = textTowerWeightShapes(c);
  const rand = mulberry32(seed);
  const values = new Map<string, Float64Array>();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    const isLnGain = /(layer_norm\d?|final_layer_norm)\.weight$/.test(name);
    const isEmbedding = name.includes('embeddings.');
    const fanIn = shape.length === 2 && !isEmbedding ? shape[1]! : 1;
    const scale = isEmbedding ? 1 : shape.length === 2 ? Math.sqrt(3 / fanIn) : 0.2;
    for (let j = 0; j < n; j++) data[j] = (isLnGain ? 1 : 0) + (2 * rand() - 1) * scale;
    values.set(name, data);
  }
  return {
    shapes,
    get: (name) => {
      const v = values.get(name);
      if (!v) throw new Error(`no random weight named ${name}`);
      return v;
    },
  };
}
