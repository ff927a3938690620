/**
 * The CLIP vision transformer (Hugging Face CLIPVisionModelWithProjection) as an ONNX graph built
 * by the project from model.safetensors:
 *
 *   patches = Conv(pixel_values, patch_embedding, stride = patch)       (no bias)
 *   x = [class_embedding; patches] + position_embedding
 *   x = pre_layrnorm(x)
 *   N pre-LN layers: x += out_proj(attention(LN1(x))); x += fc2(act(fc1(LN2(x))))   (not causal)
 *   image_embeds = post_layernorm(x[:, 0]) @ visual_projection^T                   (no bias)
 *
 * `pixel_values` [batch, 3, S, S] -> `image_embeds` [batch, projection_dim], the same interface as
 * the Transformers.js / Optimum export (onnx/vision_model.onnx). The transformer layer is shared
 * with the whole-model export's text tower (src/train/export/clip-model-graph.ts), which adds a
 * causal + padding mask.
 */
import { GraphBuilder } from './graph-builder.ts';
import { activation, layerNorm, type Activation } from './nn-ops.ts';
import type { ClipConfig } from '../checkpoint.ts';

export interface VisionTowerConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly projectionDim: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
}

/** A float32 weight by its Hugging Face CLIPModel name (e.g. "vision_model.post_layernorm.weight"). */
export type Float32WeightGetter = (name: string) => Float32Array;

export const VISION_IO = { pixelValues: 'pixel_values', imageEmbeds: 'image_embeds' } as const;

export function visionTowerConfig(config: ClipConfig): VisionTowerConfig {
  const v = config.vision_config;
  return {
    width: v.hidden_size,
    layers: v.num_hidden_layers,
    heads: v.num_attention_heads,
    intermediateSize: v.intermediate_size,
    imageSize: v.image_size,
    patchSize: v.patch_size,
    numChannels: v.num_channels,
    projectionDim: config.projection_dim,
    layerNormEps: v.layer_norm_eps,
    hiddenAct: v.hidden_act,
  };
}

/** Reads weights, checking each one's size, so a wrong checkpoint fails with the weight's name. */
export function checkedWeights(get: Float32WeightGetter): (name: string, size: number) => Float32Array {
  return (name, size) => {
    const w = get(name);
    if (w.length !== size) throw new Error(`weight ${name} has ${w.length} values, expected ${size}`);
    return w;
  };
}

/** [rows, cols] row-major to [cols, rows] (nn.Linear stores [out, in]; MatMul wants [in, out]). */
export function transposeMatrix(m: Float32Array, rows: number, cols: number, scale = 1): Float32Array {
  const out = new Float32Array(rows * cols);
  // Blocked so that both sides stay in cache for ViT-B-sized matrices.
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = m[base + c]! * scale;
      }
    }
  }
  return out;
}

export interface EncoderLayerSpec {
  /** HF prefix of the layer, e.g. "vision_model.encoder.layers.3". */
  readonly hfPrefix: string;
  /** Prefix for the graph's initializer names; unique per layer and tower. */
  readonly graphPrefix: string;
  readonly width: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
}

/** Shapes the attention block needs, as graph values (fixed or computed from Shape). */
export interface AttentionShapes {
  /** [batch, seq, 3H, d]: how the fused q/k/v rows split into heads. */
  readonly headsShape: string;
  /** [-1, W]: back to rows. */
  readonly rows: string;
  /** Additive attention mask broadcastable to [batch, H, seq, seq], or undefined (no mask). */
  readonly mask?: string | undefined;
}

/** The transformer shape both towers share: what each of their encoder layers is built from. */
export interface EncoderStackSpec {
  readonly layers: number;
  readonly width: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
}

/**
 * `cfg.layers` encoder layers on the residual stream `x` (rows), HF weights under
 * `${hfModel}.encoder.layers.<i>` and graph initializers under `${graphPrefix}.l<i>`.
 */
export function addEncoderLayers(g: GraphBuilder, x: string, cfg: EncoderStackSpec, names: { hfModel: string; graphPrefix: string }, get: Float32WeightGetter, shapes: AttentionShapes): string {
  for (let i = 0; i < cfg.layers; i++) {
    x = addEncoderLayer(g, x, {
      hfPrefix: `${names.hfModel}.encoder.layers.${i}`,
      graphPrefix: `${names.graphPrefix}.l${i}`,
      width: cfg.width,
      heads: cfg.heads,
      intermediateSize: cfg.intermediateSize,
      layerNormEps: cfg.layerNormEps,
      hiddenAct: cfg.hiddenAct,
    }, get, shapes);
  }
  return x;
}

/**
 * One pre-LN CLIP encoder layer on the residual stream `x` [batch*seq, W] (rows). q, k and v are
 * one MatMul with the q rows pre-scaled by head_dim^-0.5, as in the text tower.
 */
export function addEncoderLayer(g: GraphBuilder, x: string, spec: EncoderLayerSpec, get: Float32WeightGetter, shapes: AttentionShapes): string {
  const W = spec.width;
  const H = spec.heads;
  const I = spec.intermediateSize;
  if (W % H !== 0) throw new Error(`width ${W} is not divisible by ${H} heads`);
  const d = W / H;
  const w = checkedWeights(get);
  const p = spec.hfPrefix;
  const n = spec.graphPrefix;
  const init = (name: string, data: Float32Array, dims: number[]) => g.initializer(`${n}.${name}`, data, dims);

  const ln1 = layerNorm(g, x, init('ln1.g', w(`${p}.layer_norm1.weight`, W), [W]), init('ln1.b', w(`${p}.layer_norm1.bias`, W), [W]), spec.layerNormEps);
  const scale = d ** -0.5;
  const qkvWT = new Float32Array(3 * W * W);
  const qkvB = new Float32Array(3 * W);
  (['q_proj', 'k_proj', 'v_proj'] as const).forEach((proj, k) => {
    const s = k === 0 ? scale : 1;
    const t = transposeMatrix(w(`${p}.self_attn.${proj}.weight`, W * W), W, W, s);
    // [W_in, 3W_out]: each row of the fused matrix is the concatenation of the three rows.
    for (let r = 0; r < W; r++) qkvWT.set(t.subarray(r * W, (r + 1) * W), r * 3 * W + k * W);
    const b = w(`${p}.self_attn.${proj}.bias`, W);
    for (let j = 0; j < W; j++) qkvB[k * W + j] = b[j]! * s;
  });
  const qkvFlat = g.op('Add', [g.op('MatMul', [ln1, init('qkv.wT', qkvWT, [W, 3 * W])]), init('qkv.b', qkvB, [3 * W])]);
  const qkv = g.op('Transpose', [g.op('Reshape', [qkvFlat, shapes.headsShape])], { perm: [0, 2, 1, 3] });
  const [q, k, v] = g.opN('Split', [qkv, g.int64Const([H, H, H])], 3, { axis: 1 });
  let scores = g.op('MatMul', [q!, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]);
  if (shapes.mask) scores = g.op('Add', [scores, shapes.mask]);
  const probs = g.op('Softmax', [scores], { axis: -1 });
  const attn = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v!])], { perm: [0, 2, 1, 3] }), shapes.rows]);
  const out = g.op('Add', [
    g.op('MatMul', [attn, init('out.wT', transposeMatrix(w(`${p}.self_attn.out_proj.weight`, W * W), W, W), [W, W])]),
    init('out.b', w(`${p}.self_attn.out_proj.bias`, W), [W]),
  ]);
  const mid = g.op('Add', [x, out]);
  const ln2 = layerNorm(g, mid, init('ln2.g', w(`${p}.layer_norm2.weight`, W), [W]), init('ln2.b', w(`${p}.layer_norm2.bias`, W), [W]), spec.layerNormEps);
  const fc1 = g.op('Add', [
    g.op('MatMul', [ln2, init('fc1.wT', transposeMatrix(w(`${p}.mlp.fc1.weight`, I * W), I, W), [W, I])]),
    init('fc1.b', w(`${p}.mlp.fc1.bias`, I), [I]),
  ]);
  const fc2 = g.op('Add', [
    g.op('MatMul', [activation(g, spec.hiddenAct, fc1), init('fc2.wT', transposeMatrix(w(`${p}.mlp.fc2.weight`, W * I), W, I), [I, W])]),
    init('fc2.b', w(`${p}.mlp.fc2.bias`, W), [W]),
  ]);
  return g.op('Add', [mid, fc2]);
}

/**
 * Adds the vision tower to `g`, reading `pixelValues` [batch, C, S, S]; returns the value holding
 * the (unnormalised) image embeddings [batch, projection_dim]. Initializer names start with "vision.".
 */
export function addVisionTower(g: GraphBuilder, cfg: VisionTowerConfig, get: Float32WeightGetter, pixelValues: string, outputName?: string): string {
  validateVisionConfig(cfg);
  const W = cfg.width;
  const P = cfg.patchSize;
  const grid = cfg.imageSize / P;
  const S = grid * grid + 1;
  const w = checkedWeights(get);
  const e = 'vision_model.embeddings';

  const patchW = g.initializer('vision.patch_embedding', w(`${e}.patch_embedding.weight`, W * cfg.numChannels * P * P), [W, cfg.numChannels, P, P]);
  const conv = g.op('Conv', [pixelValues, patchW], { kernel_shape: [P, P], strides: [P, P] });
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.int64Const([0, W, grid * grid])])], { perm: [0, 2, 1] });

  const batch = g.op('Slice', [g.op('Shape', [pixelValues]), g.int64Const([0]), g.int64Const([1])]);
  const cls = g.initializer('vision.class_embedding', w(`${e}.class_embedding`, W), [1, 1, W]);
  const clsRows = g.op('Expand', [cls, g.op('Concat', [batch, g.int64Const([1, W])], { axis: 0 })]);
  const tokens = g.op('Concat', [clsRows, patches], { axis: 1 });
  const pos = g.initializer('vision.position_embedding', w(`${e}.position_embedding.weight`, S * W), [S, W]);
  const embedded = g.op('Add', [tokens, pos]);

  const preLn = layerNorm(g, embedded, g.initializer('vision.pre_ln.g', w('vision_model.pre_layrnorm.weight', W), [W]), g.initializer('vision.pre_ln.b', w('vision_model.pre_layrnorm.bias', W), [W]), cfg.layerNormEps);
  const shapes: AttentionShapes = { headsShape: g.int64Const([-1, S, 3 * cfg.heads, W / cfg.heads]), rows: g.int64Const([-1, W]) };
  const x = addEncoderLayers(g, g.op('Reshape', [preLn, shapes.rows]), cfg, { hfModel: 'vision_model', graphPrefix: 'vision' }, get, shapes);

  // Only the class token is pooled; post_layernorm is row-wise, so normalise just that row.
  const clsOut = g.op('Gather', [g.op('Reshape', [x, g.int64Const([-1, S, W])]), g.int64Const([0], [])], { axis: 1 });
  const pooled = layerNorm(g, clsOut, g.initializer('vision.post_ln.g', w('vision_model.post_layernorm.weight', W), [W]), g.initializer('vision.post_ln.b', w('vision_model.post_layernorm.bias', W), [W]), cfg.layerNormEps);
  const projT = transposeMatrix(w('visual_projection.weight', cfg.projectionDim * W), cfg.projectionDim, W);
  return g.op('MatMul', [pooled, g.initializer('vision.visual_projection.wT', projT, [W, cfg.projectionDim])], {}, outputName === undefined ? {} : { name: outputName });
}

/** The standalone image encoder: `pixel_values` [batch, C, S, S] -> `image_embeds` [batch, projection_dim] (unnormalised). */
export function buildVisionGraph(cfg: VisionTowerConfig, get: Float32WeightGetter): Uint8Array {
  const g = new GraphBuilder('clip_vision_model', { opset: 17, docString: 'CLIP vision tower built by prompt-edge from model.safetensors' });
  const pixels = g.input(VISION_IO.pixelValues, 'float32', ['batch', cfg.numChannels, cfg.imageSize, cfg.imageSize]);
  const embeds = addVisionTower(g, cfg, get, pixels, VISION_IO.imageEmbeds);
  g.output(embeds, 'float32', ['batch', cfg.projectionDim]);
  return g.toBytes();
}

/** The shape of every vision-tower weight (plus visual_projection), by HF name. */
export function visionWeightShapes(cfg: VisionTowerConfig): Map<string, number[]> {
  const W = cfg.width;
  const P = cfg.patchSize;
  const grid = cfg.imageSize / P;
  const shapes = new Map<string, number[]>([
    ['vision_model.embeddings.class_embedding', [W]],
    ['vision_model.embeddings.patch_embedding.weight', [W, cfg.numChannels, P, P]],
    ['vision_model.embeddings.position_embedding.weight', [grid * grid + 1, W]],
    ['vision_model.pre_layrnorm.weight', [W]],
    ['vision_model.pre_layrnorm.bias', [W]],
  ]);
  for (let i = 0; i < cfg.layers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes.set(`${p}.self_attn.${proj}.weight`, [W, W]);
      shapes.set(`${p}.self_attn.${proj}.bias`, [W]);
    }
    shapes.set(`${p}.layer_norm1.weight`, [W]);
    shapes.set(`${p}.layer_norm1.bias`, [W]);
    shapes.set(`${p}.mlp.fc1.weight`, [cfg.intermediateSize, W]);
    shapes.set(`${p}.mlp.fc1.bias`, [cfg.intermediateSize]);
    shapes.set(`${p}.mlp.fc2.weight`, [W, cfg.intermediateSize]);
    shapes.set(`${p}.mlp.fc2.bias`, [W]);
    shapes.set(`${p}.layer_norm2.weight`, [W]);
    shapes.set(`${p}.layer_norm2.bias`, [W]);
  }
  shapes.set('vision_model.post_layernorm.weight', [W]);
  shapes.set('vision_model.post_layernorm.bias', [W]);
  shapes.set('visual_projection.weight', [cfg.projectionDim, W]);
  return shapes;
}

function validateVisionConfig(c: VisionTowerConfig): void {
  for (const k of ['width', 'layers', 'heads', 'intermediateSize', 'imageSize', 'patchSize', 'numChannels', 'projectionDim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`vision tower ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.imageSize % c.patchSize !== 0) throw new Error(`image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}`);
  if (c.width % c.heads !== 0) throw new Error(`vision width ${c.width} is not divisible by ${c.heads} heads`);
}
