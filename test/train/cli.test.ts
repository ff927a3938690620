import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SHARED, sharedPath } from '../helpers/shared.ts';

const exec = promisify(execFile);
const cli = (...args: string[]) =>
  exec('node', ['bin/prompt-edge.mjs', ...args], { maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('prompt-edge CLI', () => {
  it('tokenize --json: one JSON document, any text after --, including empty and dash-led strings', async () => {
    const r = await cli('tokenize', '--json', '--', 'a photo of a cat.', '', '-5 degrees', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['ids']);
    expect(doc.ids[0]).toEqual([2012, 320, 516, 512, 320, 606, 269, 2013]);
    expect(doc.ids[1]).toEqual([2012, 2013]);
    expect(doc.ids).toHaveLength(4);
    expect(doc.ids[2][1]).not.toBe(2013);
  });

  it('tokenize needs only the tokenizer files: vocab.json + merges.txt, or OpenAI\'s BPE file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pe-tok-'));
    for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join('artifacts/models/tiny-clip-cifar10', f), join(dir, f));
    const hf = await cli('tokenize', '--json', '--model', dir, '--', 'a photo of a cat.');
    expect(hf.code, hf.stderr).toBe(0);
    expect(JSON.parse(hf.stdout).ids).toEqual([[2012, 320, 516, 512, 320, 606, 269, 2013]]);
    const viaTokenizer = await cli('tokenize', '--json', '--tokenizer', dir, '--', 'a photo of a cat.');
    expect(JSON.parse(viaTokenizer.stdout).ids).toEqual([[2012, 320, 516, 512, 320, 606, 269, 2013]]);
    // OpenAI's file (the file or its folder): openai/clip-vit-base-patch32's ids.
    for (const p of [sharedPath(SHARED.openAiBpe), sharedPath('models/clip-bpe')]) {
      const r = await cli('tokenize', '--json', '--tokenizer', p, '--', 'a photo of a cat.');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).ids).toEqual([[49406, 320, 1125, 539, 320, 2368, 269, 49407]]);
    }
    const none = await cli('tokenize', '--json', '--tokenizer', mkdtempSync(join(tmpdir(), 'pe-tok-none-')), '--', 'x');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no tokenizer in .*: it needs vocab\.json \+ merges\.txt/);
    expect(JSON.parse(none.stdout).error.code).toBe('invalid_tokenizer');
  });

  it('embed-text and embed-image --json give unit vectors; labelset + inspect + eval round-trip', async () => {
    const t = JSON.parse((await cli('embed-text', '--json', '--', 'a photo of a dog.')).stdout);
    expect(t.embeddings[0]).toHaveLength(128);
    expect(Math.hypot(...t.embeddings[0])).toBeCloseTo(1, 5);
    const cats = sharedPath(`${SHARED.cifarTest}/cat`);
    const img = join(cats, readdirSync(cats).sort()[0]!);
    const e = JSON.parse((await cli('embed-image', '--json', img)).stdout);
    expect(Math.hypot(...e.embeddings[0])).toBeCloseTo(1, 5);

    const dir = mkdtempSync(join(tmpdir(), 'pe-cli-'));
    const out = join(dir, 'zs.safetensors');
    const b = await cli('labelset', 'ensemble', '--labels', 'cat,dog', '--out', out, '--json');
    expect(JSON.parse(b.stdout).templates.length).toBeGreaterThan(5);
    const ins = JSON.parse((await cli('inspect', out, '--json')).stdout);
    expect(ins).toMatchObject({ format: 'prompt-edge/labelset@1', labels: ['cat', 'dog'], method: 'ensemble', shapes: { class_embeddings: [2, 128] } });
  });

  it('errors: a clear line on stderr, exit 2, and a JSON error document under --json', async () => {
    const r = await cli('eval', '--labelset', 'nope.safetensors', '--data', '.', '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read label set nope\.safetensors/);
    expect(JSON.parse(r.stdout).error.code).toBe('invalid_artifact');
    const m = await cli('tokenize', '--model', '/nonexistent', 'x');
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/model folder not found: \/nonexistent/);
    const usage = await cli('labelset', 'zeroshot', '--labels', 'a');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--out/);
  });

  it('--version and -V print the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli(flag);
      expect(r.code, flag).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
    // After a command name, --version is the command's own (labelset rollback --version N: publish-cli.test.ts).
  });

  it('--help on every command', async () => {
    for (const c of [[], ['tokenize'], ['embed-text'], ['embed-image'], ['labelset', 'zeroshot'], ['labelset', 'ensemble'], ['labelset', 'add-labels'], ['eval'], ['inspect'], ['train']]) {
      const r = await cli(...c, '--help');
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage: prompt-edge/);
    }
  }, 60_000);
});
