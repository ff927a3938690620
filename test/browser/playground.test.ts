/**
 * The playground in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core; Playwright's own browser download is not used) against `wrangler dev` serving
 * the repository's worker. What the page shows must be what the API answers for the same image.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResult } from '../../src/train/evaluate.ts';
import { renderReportHtml } from '../../src/train/publish/report-html.ts';
import { chromiumPath, TEST_OUTPUT } from './helpers/chromium.ts';
import { REPO_ROOT, startWranglerDev, type WranglerDev } from './helpers/wrangler-dev.ts';

const DEMO_KEY = `pe_demo_browser_${Math.random().toString(16).slice(2, 10)}`;
const ADMIN_TOKEN = `pe_admin_browser_${Math.random().toString(16).slice(2, 10)}`;
const CAT_DIR = join(REPO_ROOT, '..', 'shared', 'datasets', 'cifar10-fewshot', 'test', 'cat');

interface ClassifyJson {
  labels: { label: string; score: number }[];
  labelset: { tenant: string; name: string; version: string };
  model: string;
  timings_ms: Record<string, number>;
}

let dev: WranglerDev;
let browser: Browser;

beforeAll(async () => {
  const executablePath = chromiumPath();
  [dev, browser] = await Promise.all([
    startWranglerDev({ DEMO_API_KEY: DEMO_KEY, ADMIN_TOKEN }),
    chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] }),
  ]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

/** The same request a client makes: multipart with the file in `image`. */
async function classifyDirect(bytes: Uint8Array, key: string, query: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'cat.jpg');
  return fetch(`${dev.url}/v1/classify?${query}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
}

async function openPlayground(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
  await page.goto(`${dev.url}/`);
  // Loaded through GET /v1/labelsets with the pre-filled key (the page calls it on load).
  await page.locator('#labelset option', { hasText: 'default (v1)' }).waitFor({ state: 'attached', timeout: 60_000 });
  return page;
}

describe('playground in Chromium against wrangler dev', () => {
  it('classifies an uploaded image: bars, labels, scores and version match the API for the same image; screenshot saved', async () => {
    const file = join(CAT_DIR, readdirSync(CAT_DIR).filter((f) => f.endsWith('.jpg')).sort()[0]!);
    const bytes = new Uint8Array(readFileSync(file));
    const page = await openPlayground();
    // Locally (loopback host) the demo key is pre-filled.
    expect(await page.inputValue('#key')).toBe(DEMO_KEY);
    await page.fill('#topk', '5');
    await page.setInputFiles('#file', file);
    await expect.poll(() => page.locator('#preview').isVisible()).toBe(true);
    await page.click('#classify');
    await page.locator('#bars li').first().waitFor({ timeout: 60_000 });

    const shown = await page.$$eval('#bars li', (lis) => lis.map((li) => ({
      label: (li as HTMLElement).dataset.label!,
      score: Number((li as HTMLElement).dataset.score),
      text: li.querySelector('span')!.textContent,
      shownScore: li.querySelector('.score')!.textContent,
      width: (li.querySelector('.fill') as HTMLElement).getBoundingClientRect().width,
      track: (li.querySelector('.track') as HTMLElement).getBoundingClientRect().width,
    })));
    const api = await classifyDirect(bytes, DEMO_KEY, 'labelset=default&top_k=5');
    expect(api.status).toBe(200);
    const json = (await api.json()) as ClassifyJson;
    expect(shown.map((s) => s.label)).toEqual(json.labels.map((l) => l.label));
    expect(shown.map((s) => s.score)).toEqual(json.labels.map((l) => l.score));
    for (const [i, s] of shown.entries()) {
      expect(s.text).toBe(json.labels[i]!.label);
      expect(s.shownScore).toBe(json.labels[i]!.score.toFixed(4));
      // The bar is the score's share of its track (to a pixel).
      expect(Math.abs(s.width - s.track * json.labels[i]!.score)).toBeLessThan(1.5);
    }
    expect(await page.getAttribute('#meta', 'data-version')).toBe(json.labelset.version);
    expect(await page.locator('#timings tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.stage))).toEqual(Object.keys(json.timings_ms));
    expect(await page.isHidden('#error')).toBe(true);

    mkdirSync(TEST_OUTPUT, { recursive: true });
    const shot = join(TEST_OUTPUT, 'playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot) && readFileSync(shot).byteLength > 10_000).toBe(true);
    await page.close();
  });

  it('a wrong key shows the API\'s own error message', async () => {
    const page = await openPlayground();
    await page.fill('#key', 'pe_wrong_key_for_the_test');
    await page.setInputFiles('#file', join(CAT_DIR, readdirSync(CAT_DIR).sort()[0]!));
    await page.click('#classify');
    await page.locator('#error').waitFor({ state: 'visible' });
    const text = await page.textContent('#error');
    const api = await classifyDirect(new Uint8Array(readFileSync(join(CAT_DIR, readdirSync(CAT_DIR).sort()[0]!))), 'pe_wrong_key_for_the_test', 'labelset=default&top_k=5');
    const body = (await api.json()) as { error: { code: string; message: string } };
    expect(api.status).toBe(401);
    expect(text).toContain(body.error.message);
    expect(text).toContain('401 unauthorized');
    expect(await page.isHidden('#result')).toBe(true);
    await page.close();
  });

  it('opens a train-and-publish report.html: the loss chart is a non-empty SVG and the per-class table has one row per class', async () => {
    const labels = ['airplane', 'cat', 'dog'];
    const evalOf = (confusion: number[][]): EvalResult => {
      const n = confusion.flat().reduce((a, b) => a + b, 0);
      const per_class: EvalResult['per_class'] = {};
      labels.forEach((l, i) => { const k = confusion[i]!.reduce((a, b) => a + b, 0); per_class[l] = { accuracy: confusion[i]![i]! / k, n: k }; });
      return { accuracy: labels.reduce((s, _, i) => s + confusion[i]![i]!, 0) / n, n, per_class, confusion, labels, predictions: [] };
    };
    const html = renderReportHtml({
      tenant: 'demo', name: 'default', method: 'coop', createdAt: '2026-12-03T08:00:00Z', modelId: 'tiny-clip-cifar10', artifactVersion: 'abc123',
      dataDir: '../shared/datasets/cifar10-fewshot/train', evalSource: 'test split', trainN: 12, shots: 4,
      lossPerEpoch: [2.1, 1.6, 1.2, 0.95, 0.8], trainAccuracyPerEpoch: [0.3, 0.45, 0.6, 0.7, 0.75],
      result: evalOf([[3, 1, 0], [0, 3, 1], [1, 0, 3]]), zeroshot: evalOf([[2, 1, 1], [1, 2, 1], [1, 1, 2]]),
      gate: 'coop 75.00% vs zero-shot 50.00%: at or above the baseline.', settings: { shots: 4, seed: 1 },
    });
    mkdirSync(TEST_OUTPUT, { recursive: true });
    const path = join(TEST_OUTPUT, 'report.html');
    writeFileSync(path, html);
    const page = await browser.newPage();
    await page.goto(`file://${path}`);
    const svg = page.locator('svg').first();
    const box = (await svg.boundingBox())!;
    expect(box.width).toBeGreaterThan(100);
    expect(box.height).toBeGreaterThan(50);
    const loss = page.locator('svg polyline.loss');
    expect((await loss.getAttribute('points'))!.trim().split(/\s+/)).toHaveLength(5);
    const drawn = (await loss.boundingBox())!;
    expect(drawn.width * drawn.height).toBeGreaterThan(0);
    const rows = await page.locator('table.per-class tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelector('td, th')!.textContent!.trim()));
    // One row per class, then the overall row.
    expect(rows).toEqual([...labels, 'all']);
    await page.screenshot({ path: join(TEST_OUTPUT, 'report.png'), fullPage: true });
    await page.close();
  });
});
