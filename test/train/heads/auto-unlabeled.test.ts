import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeLabelSet } from '../../../src/core/labelset/artifact.ts';
import { assignFolds, crossValidate, pickWinner, type AutoCandidate, type CrossValidation } from '../../../src/train/heads/auto.ts';
import { ensembleSoftLabel, pseudoLabel } from '../../../src/train/heads/unlabeled.ts';
import type { HeadTrainData, TextPrior } from '../../../src/train/heads/types.ts';
import { normal, rngFor } from '../../../src/train/random.ts';
import { expectConsistentWinner } from '../../helpers/auto-winner.ts';

const run = promisify(execFile);
const D = 6;
const C = 3;
const unit = (v: number[]) => { const n = Math.hypot(...v); return Float32Array.from(v, (x) => x / n); };
const centre = (c: number) => Array.from({ length: D }, (_, k) => (k === c ? 1 : 0));

function prior(rows: number[][]): TextPrior {
  const e = new Float32Array(C * D);
  rows.forEach((r, c) => e.set(unit(r), c * D));
  return { classEmbeddings: e, dim: D, logitScale: 14 };
}

describe('auto: cross-validation on the training images', () => {
  it('every fold holds several classes, even at one shot per class', () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const folds = assignFolds(labels, 5);
    for (let v = 0; v < 5; v++) expect(labels.filter((_, i) => folds[i] === v).length).toBe(2);
    expect(assignFolds([0, 0, 0, 1, 1, 1], 3)).toEqual([0, 1, 2, 1, 2, 0]);
  });
  it('picks a feature head over the prompts when the prompts miss a class, and zero-shot when they are right', () => {
    const rng = rngFor(3, 'auto');
    const feats: Float32Array[] = [];
    const labels: number[] = [];
    for (let c = 0; c < C; c++) for (let i = 0; i < 6; i++) { feats.push(unit(centre(c).map((x) => x + 0.3 * normal(rng)))); labels.push(c); }
    const data: HeadTrainData = { feats, labels, numClasses: C };
    const wrong = prior([centre(0), centre(1), centre(1).map((x, k) => x + (k === 2 ? 0.2 : 0))]);
    const cv = crossValidate(data, { zeroshot: wrong, ensemble: wrong }, ['zeroshot', 'ensemble', 'linear-zs', 'tip-adapter'], 1);
    expect(cv.folds).toBe(5);
    const winner = pickWinner(cv);
    expect(['linear-zs', 'tip-adapter']).toContain(winner.method);
    expect(winner.validation_accuracy).toBeGreaterThan(cv.scores[0]!.validation_accuracy + 0.2);
    expect(winner.validation_log_likelihood).toBeGreaterThan(cv.scores[0]!.validation_log_likelihood);
    // Per-image log-likelihoods line up with the pooled score.
    const ll = cv.perImage.get(winner.method)!;
    expect(ll).toHaveLength(labels.length);
    expect(ll.reduce((a, x) => a + x, 0) / ll.length).toBeCloseTo(winner.validation_log_likelihood, 10);
  });
  it('ranks by log-likelihood; a prompt classifier wins only when it beats the best head by more than 2 standard errors', () => {
    const score = (method: AutoCandidate, ll: number[], acc: number) => ({ method, validation_accuracy: acc, validation_log_likelihood: ll.reduce((a, x) => a + x, 0) / ll.length, seconds: 0 });
    const make = (rows: [AutoCandidate, number[], number][]): CrossValidation => ({ folds: 5, scores: rows.map(([m, ll, acc]) => score(m, ll, acc)), perImage: new Map(rows.map(([m, ll]) => [m, Float64Array.from(ll)])) });
    const head = [-1.0, -1.2, -0.8, -1.1, -0.9, -1.0, -1.3, -0.7];
    // Higher accuracy but lower log-likelihood does not win among heads.
    const heads = make([['linear-zs', head, 0.5], ['tip-adapter', head.map((x) => x - 0.5), 0.6]]);
    expect(pickWinner(heads).method).toBe('linear-zs');
    // Zero-shot slightly better on average (noisy paired difference): the head is kept.
    const noisy = head.map((x, i) => x + (i % 2 ? 0.3 : -0.25));
    expect(pickWinner(make([['zeroshot', noisy, 0.9], ['linear-zs', head, 0.5]])).method).toBe('linear-zs');
    // Zero-shot consistently better (every image by 0.2 +- 0.01): it wins.
    const clear = head.map((x, i) => x + 0.2 + (i % 2 ? 0.01 : -0.01));
    expect(pickWinner(make([['zeroshot', clear, 0.5], ['linear-zs', head, 0.5]])).method).toBe('zeroshot');
    // The margin is a parameter: with 0 standard errors the noisy prompt wins too.
    expect(pickWinner(make([['zeroshot', noisy, 0.9], ['linear-zs', head, 0.5]]), 0).method).toBe('zeroshot');
    // No trained head among the candidates: the best prompt.
    expect(pickWinner(make([['zeroshot', head, 0.5], ['ensemble', clear, 0.5]])).method).toBe('ensemble');
  });
});

describe('unlabelled images: PET soft labels, UPL selection', () => {
  const templates = [prior([centre(0), centre(1), centre(2)]), prior([centre(0), centre(1), centre(2).map((x, k) => x + (k === 1 ? 0.5 : 0))])];
  it('the soft label is the mean of the templates\' softmax', () => {
    const p = ensembleSoftLabel(unit(centre(2)), templates);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[2]!).toBeGreaterThan(p[0]!);
  });
  it('keeps the K most confident images per predicted class, balanced, with soft or hard targets', () => {
    const rng = rngFor(5, 'unl');
    const feats: Float32Array[] = [];
    for (let c = 0; c < C; c++) for (let i = 0; i < 10; i++) feats.push(unit(centre(c).map((x) => x + (0.1 + 0.05 * i) * normal(rng))));
    const pl = pseudoLabel(feats, templates, 4, 'soft');
    expect(pl.perClass).toEqual([4, 4, 4]);
    // Kept images are the most confident of their class: the least noisy ones (low i) dominate.
    for (let c = 0; c < C; c++) {
      const kept = pl.indices.slice(c * 4, c * 4 + 4);
      for (const i of kept) expect(Math.floor(i / 10)).toBe(c);
      expect(kept.reduce((a, i) => a + (i % 10), 0) / 4).toBeLessThan(4.5);
    }
    expect(pl.data.soft).toHaveLength(12);
    expect(pseudoLabel(feats, templates, 4, 'hard').data.soft).toBeUndefined();
  });
});

describe('train --method auto and --unlabeled (CLI, default model, shared CIFAR-10 sketches)', () => {
  const ds = '../shared/datasets/cifar10-sketch-fewshot';
  it('auto prints the winner as method, with every candidate\'s validation accuracy', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pe-auto-')), 'a.safetensors');
    const { stdout } = await run('node', ['bin/prompt-edge.mjs', 'train', '--method', 'auto', '--data', `${ds}/train`, '--shots', '2', '--seed', '1', '--no-cache', '--json', '--out', out]);
    const doc = JSON.parse(stdout) as { method: string; candidates: { method: string; validation_accuracy: number; validation_log_likelihood: number }[]; head?: { kind: string } };
    expect(doc.candidates.map((c) => c.method)).toEqual(['zeroshot', 'ensemble', 'linear-zs', 'tip-adapter', 'tip-adapter-f']);
    expectConsistentWinner(doc.method, doc.candidates);
    const a = decodeLabelSet(await import('node:fs').then((fs) => new Uint8Array(fs.readFileSync(out))));
    expect(a.method).toBe(doc.method);
    expect(JSON.parse(a.extra['auto_candidates']!)).toHaveLength(5);
  }, 120_000);
  it('--unlabeled trains a head from pseudo-labels and reports the gain against zero-shot; bad flags are refused', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pe-unl-')), 'u.safetensors');
    const labels = 'airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck';
    const { stdout } = await run('node', ['bin/prompt-edge.mjs', 'train', '--method', 'tip-adapter', '--unlabeled', `${ds}/train/cat`, '--labels', labels, '--eval-data', `${ds}/train`, '--shots', '4', '--no-cache', '--json', '--out', out]);
    const doc = JSON.parse(stdout) as { method: string; unlabeled_n: number; kept_per_class: number[]; gain_vs_zeroshot: number; accuracy: number; zeroshot_accuracy: number };
    expect(doc.method).toBe('tip-adapter');
    expect(doc.unlabeled_n).toBe(100);
    expect(doc.kept_per_class.every((k) => k <= 4)).toBe(true);
    expect(doc.gain_vs_zeroshot).toBeCloseTo(doc.accuracy - doc.zeroshot_accuracy, 10);
    const err = await run('node', ['bin/prompt-edge.mjs', 'train', '--method', 'coop', '--unlabeled', `${ds}/train`, '--labels', labels, '--shots', '4', '--out', out]).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(/--unlabeled trains a feature head/);
    const err2 = await run('node', ['bin/prompt-edge.mjs', 'train', '--method', 'linear-zs', '--unlabeled', `${ds}/train`, '--shots', '4', '--out', out]).catch((e: { stderr: string }) => e);
    expect((err2 as { stderr: string }).stderr).toMatch(/--labels a,b,c or --labels-file/);
  }, 120_000);
});
