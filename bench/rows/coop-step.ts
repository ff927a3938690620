/**
 * Seconds per CoOp training step at ViT-B/32 text size (width 512, 12 layers, 8 heads, 49408-token
 * vocabulary; the synthetic checkpoint's random weights), 10 classes, n_ctx 16, batch 32: prompt
 * assembly, text tower forward, loss, vector-Jacobian product back to the context, SGD update.
 * The same step in PyTorch (bench/coop_step_torch.py, Debian's python3-torch) on the same weights,
 * prompts, context, features and labels, with CoOp's 77-token padding and truncated as prompt-edge.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { CustomClip } from '../../src/train/coop/custom-clip.ts';
import { PromptLearner } from '../../src/train/coop/prompt-learner.ts';
import { Sgd } from '../../src/train/coop/sgd.ts';
import { rngFor } from '../../src/train/random.ts';
import { fillNormal } from '../../src/train/synth/random-weights.ts';
import { TextTower } from '../../src/train/text-tower.ts';
import { l2Normalize } from '../../src/core/scoring.ts';
import { BENCH_CACHE, CIFAR10_LABELS, REPO_ROOT } from '../lib/paths.ts';
import { median, round } from '../lib/stats.ts';

export interface CoopStepResult {
  readonly promptEdge: { medianS: number; minS: number; steps: number; seqLen: number; threads: string; firstLoss: number };
  readonly torch: Array<{ context: string; seqLen: number; medianS: number; minS: number; threads: number; version: string; firstLoss: number }> | { error: string };
}

const PYTHON = '/usr/bin/python3';

function runPython(args: string[]): Promise<string> {
  return new Promise((resolveOut, reject) => {
    const child = spawn(PYTHON, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolveOut(out) : reject(new Error(err.trim().split('\n').slice(-3).join(' ') || `exit ${code}`))));
  });
}

export async function runCoopStep(modelDir: string, opts: { steps: number; warmup: number }): Promise<CoopStepResult> {
  const ckpt = loadCheckpoint(modelDir);
  const tower = await TextTower.create(ckpt);
  const B = 32;
  const D = ckpt.config.projection_dim;
  try {
    const learner = new PromptLearner(CIFAR10_LABELS, ckpt.tokenizer, tower, { nCtx: 16, csc: false, classTokenPosition: 'end' }, rngFor(0, 'bench-ctx'));
    const model = new CustomClip(learner, tower, ckpt.logitScale);
    const raw = new Float32Array(B * D);
    fillNormal(raw, 1, 3, 'bench-coop-features');
    const features = l2Normalize(raw, D);
    const labels = Array.from({ length: B }, (_, i) => i % CIFAR10_LABELS.length);
    const initialCtx = learner.ctx.slice();
    const sgd = new Sgd({ lr: 0.002, momentum: 0.9, weightDecay: 5e-4 });
    const times: number[] = [];
    let firstLoss = NaN;
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      const t = performance.now();
      const r = await model.lossAndGrad(features, labels);
      sgd.step(learner.ctx, r.gradCtx, 0.002);
      if (i >= opts.warmup) times.push((performance.now() - t) / 1000);
      if (i === 0) firstLoss = r.loss;
    }
    const promptEdge = { medianS: round(median(times), 3), minS: round(Math.min(...times), 3), steps: opts.steps, seqLen: learner.seqLen, threads: 'onnxruntime default (all cores)', firstLoss: round(firstLoss, 5) };

    // The same inputs for PyTorch.
    const spec = join(BENCH_CACHE, 'coop-step-spec.json');
    writeFileSync(spec, JSON.stringify({
      config: { width: tower.width, layers: tower.config.layers, heads: tower.config.heads, eps: tower.config.layerNormEps },
      ids: CIFAR10_LABELS.map((_, c) => learner.promptIds(c)),
      ctx_positions: CIFAR10_LABELS.map((_, c) => learner.ctxPositionsOf(c)),
      eot_index: learner.eotIndex,
      pad_id: ckpt.tokenizer.eotId,
      n_ctx: learner.nCtx,
      ctx: Array.from(initialCtx),
      image_features: Array.from(features),
      labels,
      logit_scale: ckpt.logitScale,
    }));
    let torch: CoopStepResult['torch'];
    if (!existsSync(PYTHON)) torch = { error: `${PYTHON} not found` };
    else {
      try {
        torch = [];
        for (const context of ['full', 'truncated']) {
          const out = await runPython([join(REPO_ROOT, 'bench', 'coop_step_torch.py'), '--weights', join(modelDir, 'model.safetensors'), '--spec', spec, '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--threads', '2', '--context', context]);
          const r = JSON.parse(out.trim().split('\n').pop()!) as { torch: string; threads: number; context: string; seq_len: number; median_s: number; min_s: number; first_loss: number };
          torch.push({ context: r.context, seqLen: r.seq_len, medianS: round(r.median_s, 3), minS: round(r.min_s, 3), threads: r.threads, version: r.torch, firstLoss: round(r.first_loss, 5) });
        }
      } catch (err) {
        torch = { error: `PyTorch step failed: ${(err as Error).message} (install Debian's python3-torch for this row: apt-get install -y python3-torch)` };
      }
    }
    return { promptEdge, torch };
  } finally {
    await tower.dispose();
  }
}
