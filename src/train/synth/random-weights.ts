/**
 * Seeded random CLIP weights at Hugging Face's initialisation scale (CLIPPreTrainedModel._init_weights
 * with initializer_factor 1): embeddings N(0, 0.02), attention/MLP matrices N(0, std) with the
 * fan-in-based stds below, Linear biases 0, LayerNorm weight 1 / bias 0, projections
 * N(0, width^-0.5), logit_scale = logit_scale_init_value. Timing and memory do not depend on the
 * values, but realistic scales keep activations finite and O(1) through 12 layers.
 *
 * Each tensor draws from its own stream seeded by (seed, tensor name), so the result does not
 * depend on generation order. ViT-B is ~150M values: generation is a tight sfc32 + table-lookup loop
 * straight into Float32Arrays.
 */
import { clipModelConfig } from '../clip/config.ts';
import { clipModelWeights, TEXT_WEIGHTS, VISION_WEIGHTS, type WeightEntry } from '../clip/weight-names.ts';
import { rngFor } from '../random.ts';
import type { SynthConfigJson } from './architectures.ts';

export interface SynthTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

type Init = { kind: 'normal'; std: number } | { kind: 'const'; value: number };

/** Every CLIPModel tensor with its HF init, in the order HF's state_dict lists them. */
export function clipWeightInits(cfg: SynthConfigJson): Array<{ name: string; shape: number[]; init: Init }> {
  const normal = (std: number): Init => ({ kind: 'normal', std });
  const zeros: Init = { kind: 'const', value: 0 };
  const ones: Init = { kind: 'const', value: 1 };
  const t = cfg.text_config;
  const v = cfg.vision_config;
  const factor = cfg.initializer_factor;
  const model = clipModelConfig(cfg, t.vocab_size - 1);
  const towerOf = (name: string) => (name.startsWith('vision_model.') || name === VISION_WEIGHTS.projection ? model.vision : model.text);
  const embeddingInit: Readonly<Record<string, Init>> = {
    [TEXT_WEIGHTS.tokenEmbedding]: normal(0.02 * factor),
    [TEXT_WEIGHTS.positionEmbedding]: normal(0.02 * factor),
    [VISION_WEIGHTS.classEmbedding]: normal(v.hidden_size ** -0.5 * factor),
    [VISION_WEIGHTS.patchEmbedding]: normal(v.initializer_range * factor),
    [VISION_WEIGHTS.positionEmbedding]: normal(v.initializer_range * factor),
  };

  const initOf = (e: WeightEntry): Init => {
    const tower = towerOf(e.name);
    const width = tower.width;
    const inProjStd = width ** -0.5 * (2 * tower.layers) ** -0.5 * factor;
    switch (e.role) {
      case 'embedding': return embeddingInit[e.name]!;
      case 'attention-in': return normal(inProjStd);
      case 'attention-out': return normal(width ** -0.5 * factor);
      case 'mlp-in': return normal((2 * width) ** -0.5 * factor);
      case 'mlp-out': return normal(inProjStd);
      case 'bias': case 'norm-bias': return zeros;
      case 'norm-gain': return ones;
      case 'projection': return normal(width ** -0.5 * factor);
      case 'scalar': return { kind: 'const', value: cfg.logit_scale_init_value };
    }
  };
  return clipModelWeights(model.text, model.vision).map((e) => ({ name: e.name, shape: [...e.shape], init: initOf(e) }));
}

/**
 * Standard-normal quantiles at the midpoints of 2^16 equal-probability bins: a 16-bit uniform
 * indexes it, so one 32-bit draw gives two N(0, 1) values with no log or trig in the loop (about
 * 10x faster than Box-Muller here). The values are N(0, 1) quantised to 65536 levels, |z| <= 4.3:
 * ample for random weights whose values nothing depends on.
 */
let normalTable: Float32Array | undefined;
function standardNormalTable(): Float32Array {
  if (!normalTable) {
    const n = 1 << 16;
    normalTable = new Float32Array(n);
    for (let k = 0; k < n; k++) normalTable[k] = inverseNormalCdf((k + 0.5) / n);
  }
  return normalTable;
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -inverseNormalCdf(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Fills `out` with N(0, std) draws from the stream (seed, name): sfc32, two table lookups per draw. */
export function fillNormal(out: Float32Array, std: number, seed: number, name: string): void {
  const table = standardNormalTable();
  // Four 32-bit words of state from the project's seeded stream; the loop inlines sfc32 for speed.
  const init = rngFor(seed, 'synth-weights', name);
  let a = (init() * 4294967296) | 0;
  let b = (init() * 4294967296) | 0;
  let c = (init() * 4294967296) | 0;
  let d = (init() * 4294967296) | 0;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
    out[i] = table[t & 0xffff]! * std;
    if (i + 1 < n) out[i + 1] = table[t >>> 16]! * std;
  }
}

/** Generates every tensor of the model; `onTensor` sees them in HF order (for progress). */
export function generateClipWeights(cfg: SynthConfigJson, seed: number, onTensor?: (name: string, index: number, count: number) => void): Map<string, SynthTensor> {
  const inits = clipWeightInits(cfg);
  const tensors = new Map<string, SynthTensor>();
  inits.forEach(({ name, shape, init }, index) => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (init.kind === 'const') data.fill(init.value);
    else fillNormal(data, init.std, seed, name);
    tensors.set(name, { shape, data });
    onTensor?.(name, index, inits.length);
  });
  return tensors;
}

export function parameterCount(tensors: ReadonlyMap<string, SynthTensor>): number {
  let n = 0;
  for (const t of tensors.values()) n += t.data.length;
  return n;
}
