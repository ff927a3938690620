/** The tenant / labelset / train-and-publish commands as a user runs them: argv in, exit code + stdout out. */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/train/cli/main.ts';
import { AdminClient } from '../../src/train/publish/admin-client.ts';
import { SHARED, sharedPath } from '../helpers/shared.ts';
import { startFakeWorker, startReferenceClassifier, type FakeWorker } from './publish-fake-worker.ts';

const ADMIN = 'pe_admin_cli';
let w: FakeWorker;
let tmp: string;
const savedToken = process.env['PROMPT_EDGE_ADMIN_TOKEN'];

beforeAll(async () => {
  w = await startFakeWorker(ADMIN);
  tmp = mkdtempSync(join(tmpdir(), 'pe-cli-'));
  process.env['PROMPT_EDGE_ADMIN_TOKEN'] = ADMIN;
});
afterAll(async () => {
  await w.close();
  rmSync(tmp, { recursive: true, force: true });
  if (savedToken === undefined) delete process.env['PROMPT_EDGE_ADMIN_TOKEN'];
  else process.env['PROMPT_EDGE_ADMIN_TOKEN'] = savedToken;
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { stdout += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { stderr += String(s); return true; });
  try {
    const code = await main(['node', 'prompt-edge', ...args]);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('tenant and labelset commands', () => {
  it('tenant create --json prints exactly {"tenant", "key"}', async () => {
    const r = await cli('tenant', 'create', 'acme', '--target', w.baseUrl, '--json');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['tenant', 'key']);
    expect(doc['tenant']).toBe('acme');
    expect(w.tenants.get('acme')!.keys.has(doc['key'] as string)).toBe(true);
  });

  it('tenant create of an existing tenant exits 2 with the server\'s error', async () => {
    const r = await cli('tenant', 'create', 'acme', '--target', w.baseUrl, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: create tenant acme failed: HTTP 409 conflict: tenant "acme" already exists.');
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'conflict', message: 'create tenant acme failed: HTTP 409 conflict: tenant "acme" already exists.' } });
  });

  it('human output shows the key once with a warning to store it', async () => {
    const r = await cli('tenant', 'create', 'human', '--target', w.baseUrl);
    expect(r.code).toBe(0);
    const key = [...w.tenants.get('human')!.keys][0]!;
    expect(r.stdout.split(key)).toHaveLength(2);
    expect(r.stdout).toContain('shown only this once');
    // What to do next: a new tenant has no label set, so classify is 404 until one is published.
    expect(r.stdout).toContain('human has no label set yet, so /v1/classify answers 404 labelset_not_found');
    expect(r.stdout).toContain(`npx prompt-edge labelset publish human.safetensors --tenant human --name default --target ${w.baseUrl}`);
  });

  it('rotate-key and list', async () => {
    const old = [...w.tenants.get('acme')!.keys][0]!;
    const r = await cli('tenant', 'rotate-key', 'acme', '--target', w.baseUrl, '--json');
    expect(r.code).toBe(0);
    const { key } = JSON.parse(r.stdout) as { key: string };
    expect(key).not.toBe(old);
    expect(w.tenants.get('acme')!.keys.has(old)).toBe(false);
    const l = await cli('tenant', 'list', '--target', w.baseUrl, '--json');
    expect((JSON.parse(l.stdout) as { tenants: { tenant: string }[] }).tenants.map((t) => t.tenant)).toEqual(['acme', 'human']);
  });

  it('labelset list, rollback (previous and --version) and delete', async () => {
    const c = new AdminClient({ baseUrl: w.baseUrl, adminToken: ADMIN, local: false, devVars: {} });
    for (let i = 0; i < 3; i++) await c.putLabelSet('acme', 'pets', new TextEncoder().encode(`ARTIFACT ${i}`));
    const l = await cli('labelset', 'list', '--tenant', 'acme', '--target', w.baseUrl, '--json');
    expect(l.code).toBe(0);
    expect(JSON.parse(l.stdout)).toMatchObject({ tenant: 'acme', labelsets: [{ name: 'pets', version: '3' }] });
    const human = await cli('labelset', 'list', '--tenant', 'acme', '--target', w.baseUrl);
    expect(human.stdout).toMatch(/pets\s+3\s+coop/);

    const back = await cli('labelset', 'rollback', '--tenant', 'acme', '--name', 'pets', '--target', w.baseUrl, '--json');
    expect(JSON.parse(back.stdout)).toEqual({ tenant: 'acme', name: 'pets', version: '2' });
    const to1 = await cli('labelset', 'rollback', '--tenant', 'acme', '--name', 'pets', '--version', '1', '--target', w.baseUrl);
    expect(to1.stdout.trim()).toBe('acme/pets is now at version 1');

    const del = await cli('labelset', 'delete', '--tenant', 'acme', '--name', 'pets', '--target', w.baseUrl, '--json');
    expect(JSON.parse(del.stdout)).toEqual({ tenant: 'acme', name: 'pets', deleted: true });
    const gone = await cli('labelset', 'rollback', '--tenant', 'acme', '--name', 'pets', '--target', w.baseUrl);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('HTTP 404 labelset_not_found');
  });

  it('labelset publish uploads a validated artifact file as a new version', async () => {
    // Small enough for the fake worker's 1000-byte upload limit.
    const file = join(tmp, 'small.safetensors');
    writeFileSync(file, encodeLabelSet({
      labels: ['cat', 'dog'], modelId: 'm', modelSha256: 'a'.repeat(64), logitScale: 10, method: 'zeroshot', templates: ['a photo of a {}.'],
      metrics: {}, createdAt: 'now', version: 'v', classEmbeddings: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]), dim: 4, extra: {},
    }));
    const saved = w.validateArtifact;
    w.validateArtifact = (b) => (b.subarray(8).toString('utf8').includes('prompt-edge/labelset@1') ? null : 'not a label set');
    const r = await cli('labelset', 'publish', file, '--tenant', 'acme', '--name', 'cifar', '--target', w.baseUrl, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tenant: 'acme', name: 'cifar', version: '1', created: true });
    // The same file again: the existing version, and the CLI says so.
    const again = await cli('labelset', 'publish', file, '--tenant', 'acme', '--name', 'cifar', '--target', w.baseUrl);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('acme/cifar version 1 already holds these exact bytes and is current: nothing to publish (no new version)');
    const againJson = await cli('labelset', 'publish', file, '--tenant', 'acme', '--name', 'cifar', '--target', w.baseUrl, '--json');
    expect(JSON.parse(againJson.stdout)).toMatchObject({ version: '1', created: false, made_current: false });
    w.validateArtifact = saved;
    const bad = join(tmp, 'bad.safetensors');
    copyFileSync(resolve('package.json'), bad);
    const refused = await cli('labelset', 'publish', bad, '--tenant', 'acme', '--target', w.baseUrl);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad\.safetensors/);
  });

  it('a URL target without PROMPT_EDGE_ADMIN_TOKEN exits 2 naming the variable', async () => {
    delete process.env['PROMPT_EDGE_ADMIN_TOKEN'];
    try {
      const r = await cli('tenant', 'list', '--target', 'https://pe.example.workers.dev');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('PROMPT_EDGE_ADMIN_TOKEN');
    } finally {
      process.env['PROMPT_EDGE_ADMIN_TOKEN'] = ADMIN;
    }
  });
});

describe('train-and-publish command', () => {
  let reference: Awaited<ReturnType<typeof startReferenceClassifier>>;
  let data: string;
  beforeAll(async () => {
    reference = await startReferenceClassifier();
    data = join(tmp, 'data');
    const shared = sharedPath(SHARED.cifarTrain);
    for (const c of ['bird', 'frog']) {
      mkdirSync(join(data, c), { recursive: true });
      for (const f of readdirSync(join(shared, c)).sort().slice(0, 5)) copyFileSync(join(shared, c, f), join(data, c, f));
    }
    w.modelSha256 = reference.visionSha256;
    w.maxArtifactBytes = 1 << 22;
    w.validateArtifact = () => null;
  });
  afterAll(async () => reference.dispose());

  it('--json prints one document with the new tenant key; exit code 0 after the live check passes', async () => {
    w.classifyAnswer = (image, _t, _n, artifact) => reference.classify(image, artifact);
    const out = join(tmp, 'run');
    const r = await cli('train-and-publish', '--data', data, '--tenant', 'newco', '--method', 'zeroshot', '--target', w.baseUrl, '--out-dir', out, '--json', '--no-cache');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ status: 'ok', tenant: 'newco', labelset: 'default', method: 'zeroshot', out_dir: out, live_check: { passed: true, checked: 2, agreed: 2 } });
    expect(doc['predictions']).toBeUndefined();
    const key = [...w.tenants.get('newco')!.keys][0]!;
    expect(doc['tenant_key']).toBe(key);
    // Shown once on stderr the moment it existed (so a later failure cannot lose it).
    expect(r.stderr.split(key)).toHaveLength(2);
    expect(r.stderr).toContain('held out 1 of 5 images per class');
  });

  it('human output: the accuracies headline once (stdout and stderr together) and the seed used', async () => {
    w.classifyAnswer = (image, _t, _n, artifact) => reference.classify(image, artifact);
    const r = await cli('train-and-publish', '--data', data, '--tenant', 'newco3', '--method', 'zeroshot', '--target', w.baseUrl, '--out-dir', join(tmp, 'run3'), '--no-cache');
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}\n${r.stderr}`.match(/vs zero-shot/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/^newco3\/default: zeroshot \d+\.\d\d% vs zero-shot \d+\.\d\d% on 2 held-out images$/m);
    expect(r.stderr).toContain('baseline gate: at or above the baseline.');
    expect(r.stdout).toContain('seed 1 (the default; --seed <s> for another)');
    const seeded = await cli('train-and-publish', '--data', data, '--tenant', 'newco3', '--method', 'zeroshot', '--seed', '7', '--target', w.baseUrl, '--out-dir', join(tmp, 'run4'), '--no-cache', '--no-live-check', '--json');
    expect(JSON.parse(seeded.stdout)).toMatchObject({ seed: 7 });
  });

  it('exits 2 and lists the files when the live endpoint disagrees', async () => {
    w.classifyAnswer = () => ({ label: 'no-such-label' });
    const r = await cli('train-and-publish', '--data', data, '--tenant', 'newco2', '--method', 'zeroshot', '--target', w.baseUrl, '--out-dir', join(tmp, 'run2'), '--no-cache');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: live check failed: 2 of 2 images got a different top-1 label');
    expect(r.stderr).toMatch(/\/bird\/\d+\.jpg: offline \w+, live no-such-label/);
  });

  it('rejects a bad --method with exit code 2', async () => {
    const r = await cli('train-and-publish', '--data', data, '--tenant', 'x', '--method', 'magic', '--target', w.baseUrl);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--method must be one of auto, coop, kgcoop, linear-zs, tip-adapter, tip-adapter-f, zeroshot, ensemble');
  });
});
