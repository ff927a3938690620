import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../../src/train/evaluate.ts';
import { escapeHtml, lossCurveSvg, renderReportHtml, type ReportData } from '../../src/train/publish/report-html.ts';

function evalOf(labels: string[], confusion: number[][]): EvalResult {
  const n = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = labels.reduce((s, _, i) => s + confusion[i]![i]!, 0);
  const per_class: EvalResult['per_class'] = {};
  labels.forEach((l, i) => {
    const row = confusion[i]!;
    const k = row.reduce((a, b) => a + b, 0);
    per_class[l] = { accuracy: row[i]! / k, n: k };
  });
  return { accuracy: correct / n, n, per_class, confusion, labels, predictions: [] };
}

const LABELS = ['cat', '<script>alert("x")</script>', 'R&D'];
function data(over: Partial<ReportData> = {}): ReportData {
  return {
    tenant: 'acme', name: 'default', method: 'coop', createdAt: '2026-01-01T00:00:00Z', modelId: 'tiny-clip', artifactVersion: 'abc123',
    dataDir: '/data/train', evalSource: 'held out 2 of 10 per class', trainN: 12, shots: 4,
    lossPerEpoch: [2.3, 1.5, 1.1, 0.9], trainAccuracyPerEpoch: [0.3, 0.5, 0.7, 0.8],
    result: evalOf(LABELS, [[2, 0, 0], [1, 1, 0], [0, 0, 2]]),
    zeroshot: evalOf(LABELS, [[1, 1, 0], [1, 1, 0], [0, 1, 1]]),
    gate: 'at or above the baseline.',
    settings: { shots: 4, seed: 1, csc: false, ctx_init: null },
    ...over,
  };
}

describe('run report (HTML)', () => {
  it('escapes HTML special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('is self-contained: inline SVG loss curve, no scripts or external assets', () => {
    const html = renderReportHtml(data());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).not.toMatch(/<script|<link|<img|src=|@import|url\(/i);
    expect(html).not.toMatch(/href="http/);
  });

  it('draws one loss point per epoch, highest loss at the top of the scale', () => {
    const svg = lossCurveSvg([2.3, 1.5, 1.1, 0.9], [0.3, 0.5, 0.7, 0.8]);
    const loss = /<polyline class="loss"[^>]*points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
    expect(loss).toHaveLength(4);
    // x increases with the epoch, y (SVG grows downwards) increases as the loss falls.
    for (let i = 1; i < 4; i++) {
      expect(loss[i]![0]!).toBeGreaterThan(loss[i - 1]![0]!);
      expect(loss[i]![1]!).toBeGreaterThan(loss[i - 1]![1]!);
    }
    expect(svg).toContain('class="train-accuracy"');
    // NaN epochs are left out rather than drawn as garbage.
    expect(/<polyline class="loss"[^>]*points="([^"]+)"/.exec(lossCurveSvg([1, NaN, 0.5], []))![1]!.split(' ')).toHaveLength(2);
  });

  it('has the per-class table (method vs zero-shot) and the confusion matrix, with label names escaped', () => {
    const html = renderReportHtml(data());
    expect(html).toContain('<table class="per-class">');
    expect(html).toMatch(/<tr><td>cat<\/td><td class="num">2<\/td><td class="num">100\.0%.*<td class="num">50\.0%.*<td class="num pos">\+50\.0<\/td><\/tr>/);
    expect(html).toContain('<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>');
    expect(html).toContain('<td>R&amp;D</td>');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('R&D<');
    const confusion = /<table class="confusion">([\s\S]*?)<\/table>/.exec(html)![1]!;
    expect(confusion).toContain('<th class="col">R&amp;D</th>');
    expect(/<tbody>([\s\S]*)<\/tbody>/.exec(confusion)![1]!.match(/<tr><th>/g)).toHaveLength(3);
    // Row of the escaped label: 1 predicted cat, 1 correct, nothing as R&D.
    expect(confusion).toMatch(/<tr><th>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;<\/th><td[^>]*>1<\/td><td[^>]*>1<\/td><td[^>]*><\/td><\/tr>/);
    expect(html).toContain('83.3%');
  });

  it('says when nothing was trained, and shows the publish and live-check result', () => {
    const html = renderReportHtml(data({
      method: 'zeroshot', lossPerEpoch: [], trainAccuracyPerEpoch: [],
      publish: { target: 'http://127.0.0.1:8787', version: '3', liveCheck: { checked: 2, agreed: 1, mismatches: [{ file: '/x/<b>.jpg', offline: 'cat', live: 'R&D' }] } },
    }));
    expect(html).not.toContain('<svg');
    expect(html).toContain('Nothing was trained (method zeroshot)');
    expect(html).toContain('version <b>3</b>');
    expect(html).toContain('1 of 2 held-out images');
    expect(html).toContain('<td>/x/&lt;b&gt;.jpg</td><td>cat</td><td>R&amp;D</td>');
  });
});
