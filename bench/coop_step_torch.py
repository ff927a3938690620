#!/usr/bin/python3
"""One CoOp training step in PyTorch, for the bench's speed comparison (bench/rows/coop-step.ts).

Loads the same model.safetensors and the same prompts, context, image features and labels as the
TypeScript step (a JSON spec written by the bench), builds the CLIP text transformer with plain
torch ops (HF CLIPTextModel semantics: causal mask, pre-LN, quick_gelu, pooling at the end token,
text_projection), and times loss + backward to the context + an SGD update, as CoOp's trainer does.

--context full pads every prompt to 77 tokens as CoOp's reference code does; --context truncated
stops at the longest end token, as prompt-edge does. Prints one JSON line.

Needs Debian's python3-torch and python3-numpy (bench only; never installed for tests).
"""
import argparse
import json
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path, names):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name in names:
            h = header[name]
            assert h['dtype'] == 'F32', f'{name}: only F32 weights are supported here'
            start, end = h['data_offsets']
            f.seek(base + start)
            out[name] = torch.from_numpy(np.frombuffer(f.read(end - start), dtype='<f4').copy().reshape(h['shape']))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--spec', required=True)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--context', choices=['full', 'truncated'], default='full')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    spec = json.load(open(a.spec))
    cfg = spec['config']
    W, layers, heads, eps = cfg['width'], cfg['layers'], cfg['heads'], cfg['eps']
    names = ['text_model.embeddings.token_embedding.weight', 'text_model.embeddings.position_embedding.weight',
             'text_model.final_layer_norm.weight', 'text_model.final_layer_norm.bias', 'text_projection.weight']
    for i in range(layers):
        p = f'text_model.encoder.layers.{i}'
        for proj in ['q_proj', 'k_proj', 'v_proj', 'out_proj']:
            names += [f'{p}.self_attn.{proj}.weight', f'{p}.self_attn.{proj}.bias']
        names += [f'{p}.layer_norm1.weight', f'{p}.layer_norm1.bias', f'{p}.layer_norm2.weight', f'{p}.layer_norm2.bias',
                  f'{p}.mlp.fc1.weight', f'{p}.mlp.fc1.bias', f'{p}.mlp.fc2.weight', f'{p}.mlp.fc2.bias']
    w = load_safetensors(a.weights, names)

    ids = spec['ids']  # per class, without padding
    eot = torch.tensor(spec['eot_index'])
    L = 77 if a.context == 'full' else max(spec['eot_index']) + 1
    C = len(ids)
    pad = spec['pad_id']
    id_mat = torch.full((C, L), pad, dtype=torch.long)
    for c, row in enumerate(ids):
        id_mat[c, :len(row)] = torch.tensor(row)
    frozen = w['text_model.embeddings.token_embedding.weight'][id_mat]  # [C, L, W]
    ctx_pos = torch.tensor(spec['ctx_positions'])  # [C, n_ctx]
    ctx = torch.tensor(spec['ctx'], dtype=torch.float32).reshape(spec['n_ctx'], W).requires_grad_(True)
    feats = torch.tensor(spec['image_features'], dtype=torch.float32).reshape(len(spec['labels']), -1)
    labels = torch.tensor(spec['labels'])
    scale = spec['logit_scale']
    pos = w['text_model.embeddings.position_embedding.weight'][:L]
    mask = torch.full((L, L), float('-inf')).triu(1)
    d = W // heads

    def encode(ctx):
        x = frozen.clone()
        x[torch.arange(C)[:, None], ctx_pos] = ctx.unsqueeze(0).expand(C, -1, -1)
        x = x + pos
        for i in range(layers):
            p = f'text_model.encoder.layers.{i}'
            h = F.layer_norm(x, (W,), w[f'{p}.layer_norm1.weight'], w[f'{p}.layer_norm1.bias'], eps)
            q = F.linear(h, w[f'{p}.self_attn.q_proj.weight'], w[f'{p}.self_attn.q_proj.bias']) * d ** -0.5
            k = F.linear(h, w[f'{p}.self_attn.k_proj.weight'], w[f'{p}.self_attn.k_proj.bias'])
            v = F.linear(h, w[f'{p}.self_attn.v_proj.weight'], w[f'{p}.self_attn.v_proj.bias'])
            q, k, v = (t.reshape(C, L, heads, d).transpose(1, 2) for t in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1) @ v
            x = x + F.linear(att.transpose(1, 2).reshape(C, L, W), w[f'{p}.self_attn.out_proj.weight'], w[f'{p}.self_attn.out_proj.bias'])
            h = F.layer_norm(x, (W,), w[f'{p}.layer_norm2.weight'], w[f'{p}.layer_norm2.bias'], eps)
            h = F.linear(h, w[f'{p}.mlp.fc1.weight'], w[f'{p}.mlp.fc1.bias'])
            h = h * torch.sigmoid(1.702 * h)
            x = x + F.linear(h, w[f'{p}.mlp.fc2.weight'], w[f'{p}.mlp.fc2.bias'])
        x = F.layer_norm(x, (W,), w['text_model.final_layer_norm.weight'], w['text_model.final_layer_norm.bias'], eps)
        return x[torch.arange(C), eot] @ w['text_projection.weight'].t()

    opt = torch.optim.SGD([ctx], lr=0.002, momentum=0.9, weight_decay=5e-4)

    def step():
        t = encode(ctx)
        t = t / t.norm(dim=-1, keepdim=True)
        loss = F.cross_entropy(scale * feats @ t.t(), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first_loss = None
    for _ in range(a.warmup):
        first_loss = step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        if first_loss is None:
            first_loss = loss
    times.sort()
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'context': a.context, 'seq_len': L,
                      'median_s': times[len(times) // 2], 'min_s': times[0], 'steps': a.steps, 'first_loss': first_loss}))


if __name__ == '__main__':
    main()
