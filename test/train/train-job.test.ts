import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { runCoopJob, type CoopJobUi } from '../../src/train/coop/train-job.ts';

const run = promisify(execFile);
const quietUi: CoopJobUi = { warn: () => {}, progress: () => ({ update: () => {}, stop: () => {} }) };

/** A small image folder: `perClass` 32x32 PNGs per class, each class a different colour pattern. */
function makeDataset(classes: string[], perClass: number): string {
  const root = mkdtempSync(join(tmpdir(), 'pe-data-'));
  classes.forEach((c, ci) => {
    mkdirSync(join(root, c));
    for (let k = 0; k < perClass; k++) {
      const data = new Uint8Array(32 * 32 * 3);
      for (let i = 0; i < 32 * 32; i++) {
        data[i * 3 + (ci % 3)] = (i * (k + 3) + ci * 40) % 256;
        data[i * 3 + ((ci + 1) % 3)] = (i >> 5) * 8;
      }
      writeFileSync(join(root, c, `${k}.png`), encode({ width: 32, height: 32, data, channels: 3, depth: 8 }));
    }
  });
  return root;
}

const ckpt = loadCheckpoint('artifacts/models/tiny-clip-cifar10');

describe('CoOp training job', () => {
  it('is deterministic for a seed: same artifact bytes apart from created_at', async () => {
    const data = makeDataset(['cat', 'dog', 'ship'], 4);
    const opts = { shots: 3, seed: 5, dataDir: data, evalDir: data, augViews: 2, device: 'cpu' as const, skipBadImages: false, epochs: 3, nCtx: 4, batchSize: 4 };
    const a = await runCoopJob(ckpt, opts, quietUi);
    const b = await runCoopJob(ckpt, opts, quietUi);
    const bytes = (r: typeof a) => encodeLabelSet({ ...r.artifact, createdAt: 'fixed', metrics: { ...r.artifact.metrics } });
    expect(Buffer.from(bytes(a)).equals(Buffer.from(bytes(b)))).toBe(true);
    expect(a.lossPerEpoch).toHaveLength(3);
    expect(a.artifact.ctx?.shape).toEqual([4, 128]);
    expect(a.artifact.extra['seed']).toBe('5');
    const c = await runCoopJob(ckpt, { ...opts, seed: 6 }, quietUi);
    expect(Buffer.from(bytes(c)).equals(Buffer.from(bytes(a)))).toBe(false);
  });

  it('train without --seed uses seed 1 and says so (human summary and --json)', async () => {
    const data = makeDataset(['cat', 'dog'], 2);
    const out = join(data, 'out.safetensors');
    const train = (args: string[]) => run('node', ['bin/prompt-edge.mjs', 'train', '--data', data, '--shots', '2', '--epochs', '2', '--n-ctx', '2', '--no-cache', '--out', out, ...args]);
    const byDefault = JSON.parse((await train(['--json'])).stdout) as { seed: number; loss: number[] };
    expect(byDefault.seed).toBe(1);
    const explicit = JSON.parse((await train(['--json', '--seed', '1'])).stdout) as { seed: number; loss: number[] };
    expect(explicit.loss).toEqual(byDefault.loss);
    const other = JSON.parse((await train(['--json', '--seed', '2'])).stdout) as { seed: number; loss: number[] };
    expect(other.seed).toBe(2);
    expect(other.loss).not.toEqual(byDefault.loss);
    const human = await train([]);
    expect(human.stdout).toContain('seed 1 (the default; --seed <s> for another), 2 shots, 2 epochs');
    expect((await train(['--seed', '1'])).stdout).toMatch(/^seed 1, 2 shots/m);
  }, 180_000);

  it('refuses bad data with a message naming the file or folder, and writes nothing', async () => {
    const data = makeDataset(['cat', 'dog'], 3);
    writeFileSync(join(data, 'dog', 'notes.txt'), 'not an image');
    const out = join(data, 'out.safetensors');
    const cli = (args: string[]) => run('node', ['bin/prompt-edge.mjs', 'train', '--data', data, '--seed', '1', '--epochs', '1', '--out', out, ...args]).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    const bad = await cli(['--shots', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/notes\.txt is not a usable image/);
    expect(bad.stderr).toMatch(/--skip-bad-images/);
    expect(existsSync(out)).toBe(false);
    const tooMany = await cli(['--shots', '5', '--skip-bad-images']);
    expect(tooMany.stderr).toMatch(/--shots 5 is more than class "cat" has \(3 images/);
    expect(existsSync(out)).toBe(false);
    const skipped = await cli(['--shots', '3', '--skip-bad-images']);
    expect(skipped.stderr).toMatch(/warning: skipping .*notes\.txt/);
    expect(skipped.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    mkdirSync(join(data, 'empty'));
    const empty = await cli(['--shots', '1']);
    expect(empty.stderr).toMatch(/class folder is empty: .*empty/);
    const missing = await run('node', ['bin/prompt-edge.mjs', 'train', '--data', join(data, 'nope'), '--shots', '1', '--seed', '1', '--out', out]).catch((e: { stderr: string }) => e);
    expect(missing.stderr).toMatch(/data folder not found/);
  }, 120_000);
});
