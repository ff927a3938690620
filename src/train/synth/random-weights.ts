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
import { rngFor } from '../random.ts';
import type { SynthConfigJson } from './architectures.ts';

export interface SynthTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

type Init = { kind: 'normal'; std: number } | { kind: 'const'; value: number };

/** Every CLIPModel tensor with its HF init, in the order HF's state_dict lists them. */
export function clipWeightInits(cfg: SynthConfigJson): Array<{ name: string; shape: number[]; init: Init }> {
  const out: Array<{ name: string; shape: number[]; init: Init }> = [];
  const normal = (std: number): Init => ({ kind: 'normal', std });
  const zeros: Init = { kind: 'const', value: 0 };
  const ones: Init = { kind: 'const', value: 1 };
  const t = cfg.text_config;
  const v = cfg.vision_config;
  const factor = cfg.initializer_factor;

  const layers = (prefix: string, width: number, inter: number, count: number) => {
    const inProjStd = width ** -0.5 * (2 * count) ** -0.5 * factor;
    const outProjStd = width ** -0.5 * factor;
    const fcStd = (2 * width) ** -0.5 * factor;
    for (let i = 0; i < count; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) {
        out.push({ name: `${p}.self_attn.${proj}.weight`, shape: [width, width], init: normal(proj === 'out_proj' ? outProjStd : inProjStd) });
        out.push({ name: `${p}.self_attn.${proj}.bias`, shape: [width], init: zeros });
      }
      out.push({ name: `${p}.layer_norm1.weight`, shape: [width], init: ones });
      out.push({ name: `${p}.layer_norm1.bias`, shape: [width], init: zeros });
      out.push({ name: `${p}.mlp.fc1.weight`, shape: [inter, width], init: normal(fcStd) });
      out.push({ name: `${p}.mlp.fc1.bias`, shape: [inter], init: zeros });
      out.push({ name: `${p}.mlp.fc2.weight`, shape: [width, inter], init: normal(inProjStd) });
      out.push({ name: `${p}.mlp.fc2.bias`, shape: [width], init: zeros });
      out.push({ name: `${p}.layer_norm2.weight`, shape: [width], init: ones });
      out.push({ name: `${p}.layer_norm2.bias`, shape: [width], init: zeros });
    }
  };

  out.push({ name: 'text_model.embeddings.token_embedding.weight', shape: [t.vocab_size, t.hidden_size], init: normal(0.02 * factor) });
  out.push({ name: 'text_model.embeddings.position_embedding.weight', shape: [t.max_position_embeddings, t.hidden_size], init: normal(0.02 * factor) });
  layers('text_model', t.hidden_size, t.intermediate_size, t.num_hidden_layers);
  out.push({ name: 'text_model.final_layer_norm.weight', shape: [t.hidden_size], init: ones });
  out.push({ name: 'text_model.final_layer_norm.bias', shape: [t.hidden_size], init: zeros });

  const grid = v.image_size / v.patch_size;
  out.push({ name: 'vision_model.embeddings.class_embedding', shape: [v.hidden_size], init: normal(v.hidden_size ** -0.5 * factor) });
  out.push({ name: 'vision_model.embeddings.patch_embedding.weight', shape: [v.hidden_size, v.num_channels, v.patch_size, v.patch_size], init: normal(v.initializer_range * factor) });
  out.push({ name: 'vision_model.embeddings.position_embedding.weight', shape: [grid * grid + 1, v.hidden_size], init: normal(v.initializer_range * factor) });
  out.push({ name: 'vision_model.pre_layrnorm.weight', shape: [v.hidden_size], init: ones });
  out.push({ name: 'vision_model.pre_layrnorm.bias', shape: [v.hidden_size], init: zeros });
  layers('vision_model', v.hidden_size, v.intermediate_size, v.num_hidden_layers);
  out.push({ name: 'vision_model.post_layernorm.weight', shape: [v.hidden_size], init: ones });
  out.push({ name: 'vision_model.post_layernorm.bias', shape: [v.hidden_size], init: zeros });

  out.push({ name: 'visual_projection.weight', shape: [cfg.projection_dim, v.hidden_size], init: normal(v.hidden_size ** -0.5 * factor) });
  out.push({ name: 'text_projection.weight', shape: [cfg.projection_dim, t.hidden_size], init: normal(t.hidden_size ** -0.5 * factor) });
  out.push({ name: 'logit_scale', shape: [], init: { kind: 'const', value: cfg.logit_scale_init_value } });
  return out;
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
