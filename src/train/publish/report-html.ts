/**
 * The run report written next to the artifact: one self-contained HTML file (inline CSS and SVG,
 * no scripts, no external assets), so it opens anywhere and can be attached to a ticket.
 * Every piece of user-controlled text (label names, tenant, paths) goes through escapeHtml.
 */
import type { EvalResult } from '../evaluate.ts';

export interface ReportLiveCheck {
  checked: number;
  agreed: number;
  mismatches: { file: string; offline: string; live: string }[];
}

export interface ReportData {
  tenant: string;
  name: string;
  method: string;
  createdAt: string;
  modelId: string;
  /** Content version of the artifact (hash of embeddings + labels). */
  artifactVersion: string;
  dataDir: string;
  evalSource: string;
  trainN: number;
  shots: number | null;
  /** Loss per epoch (empty: nothing was trained). */
  lossPerEpoch: readonly number[];
  trainAccuracyPerEpoch: readonly number[];
  result: EvalResult;
  zeroshot: EvalResult;
  /** The baseline gate's verdict, without the accuracies the headline already states. */
  gate: string;
  settings: Readonly<Record<string, string | number | boolean | null>>;
  publish?: { target: string; version: string; liveCheck?: ReportLiveCheck | null } | undefined;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Rounds an axis maximum up to 1, 2 or 5 times a power of ten. */
function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Loss (left axis) and training accuracy (right axis, 0-100%) per epoch, as an inline SVG. */
export function lossCurveSvg(loss: readonly number[], trainAcc: readonly number[]): string {
  const W = 640, H = 260, L = 56, R = 56, T = 16, B = 40;
  const pw = W - L - R, ph = H - T - B;
  const n = loss.length;
  const finite = loss.filter(Number.isFinite);
  const yMax = niceCeil(Math.max(...finite, 0));
  const x = (i: number) => L + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const yLoss = (v: number) => T + ph - (v / yMax) * ph;
  const yAcc = (v: number) => T + ph - v * ph;
  const points = (vals: readonly number[], y: (v: number) => number) =>
    vals.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const xTicks = n <= 1 ? [0] : [...new Set([0, Math.round((n - 1) / 4), Math.round((n - 1) / 2), Math.round((3 * (n - 1)) / 4), n - 1])];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="training loss per epoch">`,
    `<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ccc"/>`,
    ...ticks.map((t) => `<line x1="${L}" x2="${L + pw}" y1="${yAcc(t).toFixed(1)}" y2="${yAcc(t).toFixed(1)}" stroke="#eee"/>` +
      `<text x="${L - 6}" y="${(yAcc(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${+(t * yMax).toFixed(3)}</text>` +
      (trainAcc.length ? `<text x="${L + pw + 6}" y="${(yAcc(t) + 4).toFixed(1)}" font-size="11" fill="#d95f02">${t * 100}%</text>` : '')),
    ...xTicks.map((i) => `<text x="${x(i).toFixed(1)}" y="${T + ph + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`),
    `<text x="${L + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">epoch</text>`,
    `<text x="14" y="${T + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${T + ph / 2})">loss</text>`,
    `<polyline class="loss" fill="none" stroke="#1b9e77" stroke-width="2" points="${points(loss, yLoss)}"/>`,
    trainAcc.length ? `<polyline class="train-accuracy" fill="none" stroke="#d95f02" stroke-width="1.5" stroke-dasharray="4 3" points="${points(trainAcc, yAcc)}"/>` : '',
    `<text x="${L + 8}" y="${T + 14}" font-size="11" fill="#1b9e77">— loss</text>`,
    trainAcc.length ? `<text x="${L + 70}" y="${T + 14}" font-size="11" fill="#d95f02">- - training accuracy</text>` : '',
    '</svg>',
  ].join('\n');
}

function perClassTable(method: string, r: EvalResult, zs: EvalResult): string {
  const rows = r.labels.map((label) => {
    const m = r.per_class[label];
    const z = zs.per_class[label];
    if (!m) return '';
    const d = z ? m.accuracy - z.accuracy : 0;
    const bar = (v: number, color: string) => `<div class="bar"><span style="width:${(v * 100).toFixed(1)}%;background:${color}"></span></div>`;
    return `<tr><td>${escapeHtml(label)}</td><td class="num">${m.n}</td><td class="num">${pct(m.accuracy)}${bar(m.accuracy, '#1b9e77')}</td>` +
      `<td class="num">${z ? pct(z.accuracy) : '–'}${z ? bar(z.accuracy, '#7570b3') : ''}</td><td class="num ${d < 0 ? 'neg' : d > 0 ? 'pos' : ''}">${z ? `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)}` : ''}</td></tr>`;
  });
  return `<table class="per-class"><thead><tr><th>class</th><th>n</th><th>${escapeHtml(method)}</th><th>zero-shot</th><th>Δ points</th></tr></thead><tbody>\n${rows.join('\n')}\n` +
    `<tr class="total"><td>all</td><td class="num">${r.n}</td><td class="num">${pct(r.accuracy)}</td><td class="num">${pct(zs.accuracy)}</td><td class="num">${r.accuracy - zs.accuracy >= 0 ? '+' : ''}${((r.accuracy - zs.accuracy) * 100).toFixed(1)}</td></tr></tbody></table>`;
}

export function confusionTable(r: EvalResult, cls = 'confusion'): string {
  const head = r.labels.map((l) => `<th class="col">${escapeHtml(l)}</th>`).join('');
  const rows = r.labels.map((l, t) => {
    const row = r.confusion[t] ?? [];
    const n = row.reduce((a, b) => a + b, 0);
    const cells = row.map((v, p) => {
      const share = n ? v / n : 0;
      const bg = p === t ? `rgba(27,158,119,${share.toFixed(2)})` : `rgba(217,95,2,${share.toFixed(2)})`;
      return `<td class="num" style="background:${bg}">${v || ''}</td>`;
    }).join('');
    return `<tr><th>${escapeHtml(l)}</th>${cells}</tr>`;
  });
  return `<table class="${cls}"><thead><tr><th>true \\ predicted</th>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

export function renderReportHtml(d: ReportData): string {
  const title = `${d.tenant}/${d.name}: ${d.method} label set`;
  const settings = Object.entries(d.settings).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v === null ? '–' : String(v))}</td></tr>`).join('\n');
  const live = d.publish?.liveCheck;
  const publish = d.publish
    ? `<h2>Publish</h2><p>Published to <code>${escapeHtml(d.publish.target)}</code> as version <b>${escapeHtml(d.publish.version)}</b>.</p>` +
      (live
        ? `<p>Live check: ${live.agreed} of ${live.checked} held-out images got the same top-1 label from the live endpoint as offline${live.mismatches.length ? ':' : '.'}</p>` +
          (live.mismatches.length ? `<table><thead><tr><th>file</th><th>offline</th><th>live</th></tr></thead><tbody>${live.mismatches.map((m) => `<tr><td>${escapeHtml(m.file)}</td><td>${escapeHtml(m.offline)}</td><td>${escapeHtml(m.live)}</td></tr>`).join('')}</tbody></table>` : '')
        : '<p>Live check: not run.</p>')
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.neg{color:#b00}.pos{color:#070}
.bar{height:4px;background:#eee;margin-top:2px}.bar span{display:block;height:4px}
.confusion th.col{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}
.total td{font-weight:bold}.summary b{font-size:1.2em}code{background:#f4f4f4;padding:0 3px}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="summary">Held-out accuracy: <b>${pct(d.result.accuracy)}</b> (${escapeHtml(d.method)}) vs <b>${pct(d.zeroshot.accuracy)}</b> (zero-shot "a photo of a {}.") on ${d.result.n} images. Baseline gate: ${escapeHtml(d.gate)}</p>
<table>
<tr><th>model</th><td>${escapeHtml(d.modelId)}</td></tr>
<tr><th>artifact version</th><td>${escapeHtml(d.artifactVersion)}</td></tr>
<tr><th>created</th><td>${escapeHtml(d.createdAt)}</td></tr>
<tr><th>training data</th><td>${escapeHtml(d.dataDir)} (${d.trainN} images${d.shots !== null ? `, ${d.shots} per class` : ''})</td></tr>
<tr><th>evaluation</th><td>${escapeHtml(d.evalSource)}</td></tr>
${settings}
</table>
<h2>Training loss</h2>
${d.lossPerEpoch.length ? lossCurveSvg(d.lossPerEpoch, d.trainAccuracyPerEpoch) : `<p>Nothing was trained (method ${escapeHtml(d.method)}): the class embeddings come from hand-written prompts.</p>`}
<h2>Accuracy per class</h2>
${perClassTable(d.method, d.result, d.zeroshot)}
<h2>Confusion matrix (${escapeHtml(d.method)})</h2>
${confusionTable(d.result)}
<details><summary>Confusion matrix (zero-shot baseline)</summary>
${confusionTable(d.zeroshot, 'confusion zeroshot')}
</details>
${publish}
</body></html>
`;
}
