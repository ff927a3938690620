/**
 * train-and-publish end to end against a contract-speaking node:http server whose classify route
 * is a reference classifier in Node (the real image tower + the uploaded artifact), so the live
 * check compares real predictions. The real worker is tested separately inside workerd.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataError, InvalidArgumentError, ModelMismatchError } from '../../src/core/errors.ts';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { DEFAULT_MODEL_DIR } from '../../src/train/cli/common.ts';
import { BelowBaselineError, pct } from '../../src/train/publish/baseline-gate.ts';
import { LiveCheckError } from '../../src/train/publish/live-check.ts';
import { trainAndPublish, type PipelineUi, type TrainAndPublishOptions } from '../../src/train/publish/pipeline.ts';
import { expectConsistentWinner } from '../helpers/auto-winner.ts';
import { SHARED, sharedPath } from '../helpers/shared.ts';
import { startFakeWorker, startReferenceClassifier, type FakeWorker } from './publish-fake-worker.ts';

const ADMIN = 'pe_admin_pipeline';
const CIFAR_TRAIN = sharedPath(SHARED.cifarTrain);
const CLASSES = ['cat', 'ship', 'truck'];
const PER_CLASS = 10;

let w: FakeWorker;
let reference: Awaited<ReturnType<typeof startReferenceClassifier>>;
let tmp: string;
let data: string;
const ckpt = loadCheckpoint(DEFAULT_MODEL_DIR);

const referenceClassify = (image: Buffer, artifact: Buffer) => reference.classify(image, artifact);

beforeAll(async () => {
  reference = await startReferenceClassifier();
  w = await startFakeWorker(ADMIN);
  tmp = mkdtempSync(join(tmpdir(), 'pe-pipeline-'));
  data = join(tmp, 'data');
  for (const c of CLASSES) {
    mkdirSync(join(data, c), { recursive: true });
    // Copied into a temp folder outside the repo (the scanner lists regular files, not symlinks).
    for (const f of readdirSync(join(CIFAR_TRAIN, c)).sort().slice(0, PER_CLASS)) copyFileSync(join(CIFAR_TRAIN, c, f), join(data, c, f));
  }
});
afterAll(async () => {
  await w.close();
  await reference.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

interface Recorded { info: string[]; warn: string[]; keys: { tenant: string; key: string; what: string }[] }
let ui: PipelineUi & { rec: Recorded };
beforeEach(() => {
  const rec: Recorded = { info: [], warn: [], keys: [] };
  ui = {
    rec,
    info: (m) => rec.info.push(m),
    warn: (m) => rec.warn.push(m),
    progress: () => ({ update: () => undefined, stop: () => undefined }),
    newKey: (tenant, key, what) => rec.keys.push({ tenant, key, what }),
  };
  w.modelSha256 = ckpt.visionSha256;
  w.maxArtifactBytes = 4 << 20;
  w.validateArtifact = (b) => {
    try {
      decodeLabelSet(new Uint8Array(b), { dim: ckpt.config.projection_dim, modelSha256: ckpt.visionSha256 });
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  w.classifyAnswer = (image, _t, _n, artifact) => referenceClassify(image, artifact);
});

let run = 0;
function opts(over: Partial<TrainAndPublishOptions> = {}): TrainAndPublishOptions {
  return {
    data, tenant: 'acme', labelset: 'default', method: 'coop', shots: 2, seed: 1, target: w.baseUrl, force: true,
    outDir: join(tmp, `run-${++run}`), model: DEFAULT_MODEL_DIR, device: 'cpu', skipBadImages: false, cacheDir: undefined,
    coop: { nCtx: 4, csc: false, classTokenPosition: 'end', epochs: 2, augViews: 1 },
    rotateKey: false, liveCheck: true, liveCheckMax: 200, liveCheckWaitS: 0,
    ...over,
  };
}
const ctx = () => ({ repoRoot: tmp, env: { PROMPT_EDGE_ADMIN_TOKEN: ADMIN } });
const puts = () => w.requests.filter((r) => r.method === 'PUT').length;

describe('train-and-publish pipeline', () => {
  it('coop: creates the tenant, publishes, writes report + summary, and the live check passes', async () => {
    const o = opts();
    const r = await trainAndPublish(o, ctx(), ui);
    // 20% of 10 = 2 held out per class.
    expect(r.summary.eval).toMatchObject({ source: 'held-out', n: 6 });
    expect(r.summary.eval.per_class_split).toEqual(CLASSES.map((label) => ({ label, total: 10, heldOut: 2, pool: 8 })));
    expect(r.summary.train_n).toBe(6);
    expect(r.summary.loss).toHaveLength(2);
    expect(r.summary.status).toBe('ok');
    expect(r.summary.published).toEqual({ version: '1', created: true, tenant_created: true, key_rotated: false });
    expect(r.summary.live_check).toMatchObject({ passed: true, checked: 6, agreed: 6, mismatches: [] });
    // The key was announced once, as soon as it existed, and is nowhere on disk.
    expect(ui.rec.keys).toEqual([{ tenant: 'acme', key: r.newKey!.key, what: 'created' }]);
    expect(w.tenants.get('acme')!.keys.has(r.newKey!.key)).toBe(true);
    const summaryText = readFileSync(join(o.outDir!, 'summary.json'), 'utf8');
    expect(summaryText).not.toContain(r.newKey!.key);
    expect(JSON.parse(summaryText)).toMatchObject({ status: 'ok', tenant: 'acme', labelset: 'default', method: 'coop' });
    const html = readFileSync(join(o.outDir!, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Live check: 6 of 6');
    // The headline (both accuracies) is stated once; the gate adds only its verdict.
    const headline = /<p class="summary">(.*?)<\/p>/s.exec(html)![1]!;
    const p1 = (x: number) => `${(x * 100).toFixed(1)}%`;
    expect(headline).toBe(`Held-out accuracy: <b>${p1(r.summary.accuracy)}</b> (coop) vs <b>${p1(r.summary.zeroshot_accuracy)}</b> (zero-shot "a photo of a {}.") on 6 images. Baseline gate: at or above the baseline.`);
    expect(ui.rec.info.filter((m) => m.includes(pct(r.summary.zeroshot_accuracy)))).toEqual([]);
    expect(ui.rec.info).toContain('baseline gate: at or above the baseline.');
    // The published bytes are the artifact on disk, with the held-out metrics inside.
    const onDisk = readFileSync(join(o.outDir!, 'default.safetensors'));
    expect(Buffer.compare(onDisk, w.tenants.get('acme')!.labelsets.get('default')!.versions[0]!.body)).toBe(0);
    const a = decodeLabelSet(new Uint8Array(onDisk));
    expect(a.method).toBe('coop');
    expect(a.labels).toEqual(CLASSES);
    expect(a.metrics).toMatchObject({ accuracy: r.summary.accuracy, zeroshot_accuracy: r.summary.zeroshot_accuracy, eval_n: 6, eval: 'held-out' });
    expect(ui.rec.info.some((m) => m.includes('held out 2 of 10 images per class'))).toBe(true);
  });

  it('auto: cross-validates the candidates on the training images only, publishes the winner (a format-2 head), and the live check passes', async () => {
    const o = opts({ tenant: 'autoco', method: 'auto', force: true });
    const r = await trainAndPublish(o, ctx(), ui);
    const s = r.summary;
    expect(s.requested_method).toBe('auto');
    expect(s.candidates!.map((c) => c.method)).toEqual(['zeroshot', 'ensemble', 'linear-zs', 'tip-adapter', 'tip-adapter-f']);
    expectConsistentWinner(s.method, s.candidates!);
    expect(s.status).toBe('ok');
    expect(s.live_check).toMatchObject({ passed: true, checked: 6, agreed: 6 });
    const a = decodeLabelSet(new Uint8Array(readFileSync(join(o.outDir!, 'default.safetensors'))));
    expect(a.method).toBe(s.method);
    // Validation used the 6 training images (2 shots x 3 classes), never the 6 held-out ones.
    expect(s.train_n).toBe(6);
    expect(readFileSync(join(o.outDir!, 'report.html'), 'utf8')).toContain('validation: linear-zs');
  });

  it('an existing tenant without a key stops before training, saying what to pass', async () => {
    await trainAndPublish(opts({ tenant: 'keyless', method: 'zeroshot' }), ctx(), ui);
    const before = puts();
    const o = opts({ tenant: 'keyless' });
    const err = await trainAndPublish(o, ctx(), ui).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/tenant keyless already exists.*--tenant-key KEY or set PROMPT_EDGE_TENANT_KEY.*--rotate-key.*--no-live-check/);
    expect(puts()).toBe(before);
    expect(existsSync(o.outDir!)).toBe(false);
  });

  it('an existing tenant: --rotate-key issues a new key and publishes a new version; a given key is verified first', async () => {
    const first = await trainAndPublish(opts({ tenant: 'rot', method: 'zeroshot' }), ctx(), ui);
    const r = await trainAndPublish(opts({ tenant: 'rot', method: 'ensemble', rotateKey: true }), ctx(), ui);
    expect(r.newKey?.what).toBe('rotated');
    expect(w.tenants.get('rot')!.keys.has(first.newKey!.key)).toBe(false);
    expect(r.summary.published).toEqual({ version: '2', created: true, tenant_created: false, key_rotated: true });
    expect(r.summary.live_check).toMatchObject({ passed: true, checked: 6 });

    const withKey = await trainAndPublish(opts({ tenant: 'rot', method: 'zeroshot', tenantKey: r.newKey!.key }), ctx(), ui);
    expect(withKey.newKey).toBeUndefined();
    expect(withKey.summary.published?.version).toBe('3');
    const fromEnv = await trainAndPublish(opts({ tenant: 'rot', method: 'zeroshot' }), { repoRoot: tmp, env: { PROMPT_EDGE_ADMIN_TOKEN: ADMIN, PROMPT_EDGE_TENANT_KEY: r.newKey!.key } }, ui);
    expect(fromEnv.summary.status).toBe('ok');

    const before = puts();
    await expect(trainAndPublish(opts({ tenant: 'rot', method: 'zeroshot', tenantKey: first.newKey!.key }), ctx(), ui)).rejects.toThrow(/not a valid key of tenant rot.*HTTP 401/);
    await expect(trainAndPublish(opts({ tenant: 'rot', method: 'zeroshot', tenantKey: r.newKey!.key.replace(/.$/, 'x') + 'y' }), ctx(), ui)).rejects.toThrow(/not a valid key/);
    expect(puts()).toBe(before);
  });

  it('--no-live-check publishes for an existing tenant without a key, and says the check was skipped', async () => {
    await trainAndPublish(opts({ tenant: 'nolive', method: 'zeroshot' }), ctx(), ui);
    const r = await trainAndPublish(opts({ tenant: 'nolive', method: 'zeroshot', liveCheck: false }), ctx(), ui);
    expect(r.summary.live_check).toEqual({ skipped: '--no-live-check' });
    expect(r.summary.status).toBe('published');
    expect(r.summary.published?.version).toBe('2');
    expect(ui.rec.warn.some((m) => m.includes('live check skipped'))).toBe(true);
  });

  it('fails the live check with the mismatching files when the endpoint disagrees', async () => {
    let n = 0;
    w.classifyAnswer = async (image, _t, _n, artifact) => (++n === 2 ? { label: 'not-a-class' } : referenceClassify(image, artifact));
    const o = opts({ tenant: 'mismatch', method: 'zeroshot' });
    const err = await trainAndPublish(o, ctx(), ui).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LiveCheckError);
    expect((err as LiveCheckError).result.mismatches).toHaveLength(1);
    expect((err as Error).message).toMatch(/1 of 6 images.*\n {2}\/.*\.jpg: offline \w+, live not-a-class/);
    expect(JSON.parse(readFileSync(join(o.outDir!, 'summary.json'), 'utf8'))).toMatchObject({ status: 'live-check-failed', live_check: { passed: false, agreed: 5 } });
    // The key was still announced (the tenant exists now).
    expect(ui.rec.keys).toHaveLength(1);
  });

  it('an upload the worker refuses fails with its code; the summary says evaluated, not published', async () => {
    w.validateArtifact = () => 'artifact model_sha256 does not match the deployed model.';
    const o = opts({ tenant: 'refused-upload', method: 'zeroshot' });
    const err = await trainAndPublish(o, ctx(), ui).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toContain('upload label set refused-upload/default failed: HTTP 422 invalid_artifact: artifact model_sha256 does not match');
    expect(JSON.parse(readFileSync(join(o.outDir!, 'summary.json'), 'utf8'))).toMatchObject({ status: 'evaluated', published: null });
    // The tenant was created just before, and its key announced, so a rerun can use it.
    expect(ui.rec.keys).toHaveLength(1);
  });

  it('checks data and model before anything is created or trained', async () => {
    const empty = join(tmp, 'bad-data');
    mkdirSync(join(empty, 'cat'), { recursive: true });
    mkdirSync(join(empty, 'dog'), { recursive: true });
    copyFileSync(join(CIFAR_TRAIN, 'cat', readdirSync(join(CIFAR_TRAIN, 'cat'))[0]!), join(empty, 'cat', 'a.jpg'));
    const reqs = w.requests.length;
    await expect(trainAndPublish(opts({ tenant: 'never', data: empty }), ctx(), ui)).rejects.toThrow(DataError);
    await expect(trainAndPublish(opts({ tenant: 'never', data: empty }), ctx(), ui)).rejects.toThrow(/class folder is empty/);
    expect(w.requests.length).toBe(reqs);

    // A file that is not an image fails the data check (whatever the split would pick), naming the file.
    const bad = join(tmp, 'bad-file');
    for (const c of CLASSES) {
      mkdirSync(join(bad, c), { recursive: true });
      for (const f of readdirSync(join(data, c))) copyFileSync(join(data, c, f), join(bad, c, f));
    }
    writeFileSync(join(bad, 'ship', 'notes.jpg'), 'not an image');
    await expect(trainAndPublish(opts({ tenant: 'never', data: bad }), ctx(), ui)).rejects.toThrow(/ship\/notes\.jpg is not a usable image.*--skip-bad-images/);
    expect(w.requests.length).toBe(reqs);
    // With --skip-bad-images it is skipped with a warning and the run goes on.
    const skipped = await trainAndPublish(opts({ tenant: 'skipper', data: bad, method: 'zeroshot', skipBadImages: true }), ctx(), ui);
    expect(skipped.summary.status).toBe('ok');
    expect(ui.rec.warn.some((m) => m.includes('skipping') && m.includes('notes.jpg'))).toBe(true);

    w.modelSha256 = 'f'.repeat(64);
    await expect(trainAndPublish(opts({ tenant: 'never', method: 'zeroshot' }), ctx(), ui)).rejects.toThrow(ModelMismatchError);
    expect(w.tenants.has('never')).toBe(false);
  });

  it('refuses a CoOp label set below the zero-shot baseline: nothing created or uploaded, report and summary still written', async () => {
    // Two epochs of a 16-vector random context, 2 shots: far below "a photo of a {}." on this data (deterministic for the seed).
    const o = opts({ tenant: 'gated', force: false, coop: { nCtx: 16, csc: false, classTokenPosition: 'end', epochs: 2, augViews: 1 } });
    const before = puts();
    const err = await trainAndPublish(o, ctx(), ui).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(BelowBaselineError);
    const e = err as BelowBaselineError;
    expect(e.accuracy).toBeLessThan(e.zeroshotAccuracy);
    expect(e.message).toContain(`coop ${pct(e.accuracy)} vs zero-shot "a photo of a {}." ${pct(e.zeroshotAccuracy)} on 6 held-out images`);
    expect(e.message).toContain('--force');
    expect(w.tenants.has('gated')).toBe(false);
    expect(puts()).toBe(before);
    expect(ui.rec.keys).toEqual([]);
    expect(JSON.parse(readFileSync(join(o.outDir!, 'summary.json'), 'utf8'))).toMatchObject({ status: 'refused', gate: { publish: false, below_baseline: true }, published: null });
    expect(existsSync(join(o.outDir!, 'report.html'))).toBe(true);

    // The same run with --force publishes it.
    const forced = await trainAndPublish({ ...o, force: true, outDir: `${o.outDir}-forced` }, ctx(), ui);
    expect(forced.summary.gate).toMatchObject({ publish: true, below_baseline: true, forced: true });
    expect(forced.summary.accuracy).toBe(e.accuracy);
    expect(forced.summary.published?.version).toBe('1');
  });

  it('refuses an invalid tenant id or label set name up front', async () => {
    await expect(trainAndPublish(opts({ tenant: 'Not Valid' }), ctx(), ui)).rejects.toThrow(/tenant id "Not Valid" is not valid/);
    await expect(trainAndPublish(opts({ labelset: '-x' }), ctx(), ui)).rejects.toThrow(/label set name "-x" is not valid/);
  });
});
