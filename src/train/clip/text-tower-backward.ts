/**
 * The vector-Jacobian product of the text tower with respect to its input embeddings (weights are
 * frozen, so no weight gradients), derived by hand and emitted as one ONNX graph:
 *
 *   inputs:  grad_features [B, P], eot_index [B], the activations the forward graph saved
 *   output:  grad_embeds [B, L, W]
 *
 * Per layer, walking back from the output (forward: mid = x + attn(LN1 x), out = mid + mlp(LN2 mid)):
 *   MLP:  du = (dout @ W2) * act'(u);  dmid = dout + LN2'(du @ W1)
 *   attn: dO = dmid @ Wo (split by head); dP = dO v^T; dv = P^T dO;
 *         dS = P * (dP - rowsum(dP * P)); dq = dS k; dk = dS^T q;
 *         dx = dmid + LN1'([dq dk dv] @ Wqkv)
 * (q is the pre-scaled projection, so the head_dim^-0.5 factor is inside Wqkv's q rows.)
 * The position embedding is added, so it passes the gradient through unchanged.
 */
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { activationBackward, layerNormBackward } from '../onnx/nn-ops.ts';
import { IO, saved, type TextTowerParams } from './text-tower-graph.ts';
import { encoderLayerNames, TEXT_WEIGHTS } from './weight-names.ts';

export function buildBackwardGraph(params: TextTowerParams): Uint8Array {
  const cfg = params.config;
  const W = cfg.width;
  const H = cfg.heads;
  const d = params.headDim;
  const I = cfg.intermediateSize;
  const P = cfg.projectionDim;
  const dtype = params.dtype;
  const eps = cfg.layerNormEps;
  const g = new GraphBuilder('clip_text_tower_vjp', { opset: 17, dtype });

  const gradFeatures = g.input(IO.gradFeatures, dtype, ['batch', P]);
  const eot = g.input(IO.eotIndex, 'int64', ['batch']);
  const inputs: string[] = [];
  const qkvs: string[] = [];
  const probs: string[] = [];
  const mids: string[] = [];
  const fc1s: string[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    inputs.push(g.input(saved.input(i), dtype, ['rows', W]));
    qkvs.push(g.input(saved.qkv(i), dtype, ['batch', 3 * H, 'seq', d]));
    probs.push(g.input(saved.probs(i), dtype, ['batch', H, 'seq', 'seq']));
    const rowsOrBatch = i === cfg.layers - 1 ? 'batch' : 'rows';
    mids.push(g.input(saved.mid(i), dtype, [rowsOrBatch, W]));
    fc1s.push(g.input(saved.fc1(i), dtype, [rowsOrBatch, I]));
  }
  const finalRow = g.input(saved.finalRow, dtype, ['batch', W]);

  // B and L from the saved q/k/v, [B, 3H, L, d].
  const qkvShape = g.op('Shape', [qkvs[0]!]);
  const batch = g.op('Slice', [qkvShape, g.int64Const([0]), g.int64Const([1])]);
  const seq = g.op('Slice', [qkvShape, g.int64Const([2]), g.int64Const([3])]);
  const seqScalar = g.op('Squeeze', [seq, g.int64Const([0])]);

  // Projection and final_layer_norm act on the pooled rows only.
  const dPooled = g.op('MatMul', [gradFeatures, g.initializer('text_projection.w', params.weight(TEXT_WEIGHTS.projection, P * W), [P, W])]);
  const dRow = layerNormBackward(g, dPooled, finalRow, g.initializer('final_ln.g', params.weight(TEXT_WEIGHTS.finalLayerNorm.weight, W), [W]), eps);

  // Pooling picked row eot_b of each prompt, so its gradient is that row and zero elsewhere:
  // oneHot [B, L] marks those rows.
  const positions = g.op('Range', [g.int64Const([0], []), seqScalar, g.int64Const([1], [])]);
  const isEot = g.op('Equal', [g.op('Unsqueeze', [positions, g.int64Const([0])]), g.op('Unsqueeze', [eot, g.int64Const([1])])]);
  const oneHot = g.op('Cast', [isEot], { to: dtype === 'float64' ? 11 : 1 });
  /** [B, X] end-token rows -> [B*L, X] with zeros elsewhere. */
  const scatterEot = (rowsBX: string) => g.op('Reshape', [g.op('Mul', [g.op('Unsqueeze', [oneHot, g.int64Const([2])]), g.op('Unsqueeze', [rowsBX, g.int64Const([1])])]), g.int64Const([-1, W])]);

  const headsShape = g.op('Concat', [batch, seq, g.int64Const([H, d])], { axis: 0 });
  const rows3W = g.int64Const([-1, 3 * W]);
  const lastTwo = { perm: [0, 1, 3, 2] };

  // d(loss)/d(the layer's output): the last layer's output exists only at the end-token rows, [B, W].
  let dx = dRow;
  for (let i = cfg.layers - 1; i >= 0; i--) {
    const n = encoderLayerNames('text', i);
    const last = i === cfg.layers - 1;
    // MLP block ([B, ...] rows in the last layer, [B*L, ...] before).
    const dAct = g.op('MatMul', [dx, g.initializer(`l${i}.fc2.w`, params.weight(n.fc2.weight, W * I), [W, I])]);
    const dFc1 = activationBackward(g, cfg.hiddenAct, dAct, fc1s[i]!);
    const dLn2 = g.op('MatMul', [dFc1, g.initializer(`l${i}.fc1.w`, params.weight(n.fc1.weight, I * W), [I, W])]);
    const dMid = g.op('Add', [dx, layerNormBackward(g, dLn2, mids[i]!, g.initializer(`l${i}.ln2.g`, params.weight(n.ln2.weight, W), [W]), eps)]);

    // Attention block.
    const dAttn = g.op('MatMul', [dMid, g.initializer(`l${i}.out.w`, params.weight(n.out.weight, W * W), [W, W])]);
    // dO [B, H, L, d]; in the last layer only the end-token query row has a gradient.
    const dO = last
      ? g.op('Mul', [g.op('Unsqueeze', [oneHot, g.int64Const([1, 3])]), g.op('Reshape', [dAttn, g.op('Concat', [batch, g.int64Const([H, 1, d])], { axis: 0 })])])
      : g.op('Transpose', [g.op('Reshape', [dAttn, headsShape])], { perm: [0, 2, 1, 3] });
    const [q, k, v] = g.opN('Split', [qkvs[i]!, g.int64Const([H, H, H])], 3, { axis: 1 });
    const prob = probs[i]!;
    const dProb = g.op('MatMul', [dO, g.op('Transpose', [v!], lastTwo)]);
    const dV = g.op('MatMul', [g.op('Transpose', [prob], lastTwo), dO]);
    const rowDot = g.op('ReduceSum', [g.op('Mul', [dProb, prob]), g.int64Const([-1])], { keepdims: 1 });
    const dScores = g.op('Mul', [prob, g.op('Sub', [dProb, rowDot])]);
    const dQ = g.op('MatMul', [dScores, k!]);
    const dK = g.op('MatMul', [g.op('Transpose', [dScores], lastTwo), q!]);
    const dQkv = g.op('Reshape', [g.op('Transpose', [g.op('Concat', [dQ, dK, dV], { axis: 1 })], { perm: [0, 2, 1, 3] }), rows3W]);
    const dLn1 = g.op('MatMul', [dQkv, g.initializer(`l${i}.qkv.w`, params.fusedQkv(n, W, H).weight, [3 * W, W])]);
    const dResidual = last ? scatterEot(dMid) : dMid;
    dx = g.op('Add', [dResidual, layerNormBackward(g, dLn1, inputs[i]!, g.initializer(`l${i}.ln1.g`, params.weight(n.ln1.weight, W), [W]), eps)]);
  }

  const gradEmbeds = g.op('Reshape', [dx, g.op('Concat', [batch, seq, g.int64Const([W])], { axis: 0 })], {}, { name: IO.gradEmbeds });
  g.output(gradEmbeds, dtype, ['batch', 'seq', W]);
  return g.toBytes();
}
