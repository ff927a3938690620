/**
 * Cold start with the vision model read from R2 (docs/storage.md, "Vision models in R2"): the real
 * worker (src/worker/index.ts) under `wrangler dev` with local R2 persisted in a temp dir. Each
 * model is first uploaded through the admin API (`model publish`'s client) with a label set; then
 * every measurement starts a fresh `wrangler dev` (a fresh isolate) and times its first
 * POST /v1/classify, which reads the model from R2, checks its sha256 and creates the ORT session;
 * /healthz then gives the worker's own split (fetch, verify, session). The bundled default model
 * is measured the same way as the baseline.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeLabelSet, encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { isDataFile } from '../../src/core/model-files.ts';
import { readModelFolder } from '../../src/train/publish/model-folder.ts';
import { AdminClient } from '../../src/train/publish/admin-client.ts';
import { median, round, summarize, type LatencySummary } from '../lib/stats.ts';
import { classifyOnce, startWorker, type ClassifyTimings } from '../lib/worker.ts';
import { DEFAULT_MODEL_DIR, REPO_ROOT } from '../lib/paths.ts';

export interface R2BenchCase {
  /** Row label, e.g. "vit-b-32-int8 (external data)". */
  readonly name: string;
  /** 'bundled': the worker's bundled default model (the baseline); 'r2': uploaded, served by VISION_MODEL_SHA256. */
  readonly source: 'bundled' | 'r2';
  /** A CLIP folder (config.json, preprocessor_config.json). */
  readonly modelDir: string;
  /** The encoder; `<onnxPath>.data` is uploaded with it when it exists. */
  readonly onnxPath: string;
  /** A label set built on these weights; its model_sha256 is set to this encoder file's if it differs (an external-data graph has its own). */
  readonly labelSet: string;
  /** Publish the encoder cut into this many parts (`model publish --parts`), loaded one session per part. */
  readonly parts?: number;
}

export interface ModelLoadSplit { fetch: number; verify: number; session: number; total: number }

export interface ColdStart {
  /** Client wall time of the first request of a fresh isolate. */
  readonly wallMs: number;
  readonly timings: ClassifyTimings;
  /** The worker's model_load_ms from /healthz right after. */
  readonly load: ModelLoadSplit | null;
  readonly wranglerStartSeconds: number;
  /** workerd resident memory after the first request (whole process). */
  readonly workerdPeakRss: number;
}

export interface ModelFromR2Result {
  readonly name: string;
  readonly source: 'bundled' | 'r2';
  readonly sha256: string;
  /** Bytes the worker reads from R2 (graph + weights, or every part). */
  readonly modelBytes: number;
  readonly externalData: boolean;
  readonly parts: number;
  /** Upload through the admin API, seconds (0 for the bundled model). */
  readonly uploadSeconds: number;
  readonly coldStarts: ColdStart[];
  /** Medians over the cold starts. */
  readonly cold: { wallMs: number; totalMs: number; encodeMs: number; load: ModelLoadSplit | null };
  /** Later requests of the last isolate (model kept in memory). */
  readonly warm: LatencySummary;
}

const TENANT = 'bench-r2';
const ADMIN_TOKEN = 'bench-r2-admin-token-0123456789abcdef';

interface EncoderFiles { dir: string; onnxPath: string; external?: { onnxPath: string } }

/**
 * The cases of the row: the default model bundled and from R2; ViT-B/32 int8 with external data
 * (its best int8 layout); q4 with external data as one session and in `parts` parts, the layout
 * that stays under 128 MB while it loads (docs/performance.md, "Fitting 128 MB").
 */
export function modelFromR2Cases(p: { defaultLabelSet: string; vitInt8: EncoderFiles; vitQ4: EncoderFiles; parts: number; vitLabelSet: string }): R2BenchCase[] {
  const defaultOnnx = join(DEFAULT_MODEL_DIR, 'onnx', 'vision_model.onnx');
  const external = (name: string, v: EncoderFiles): R2BenchCase[] => (v.external ? [{ name, source: 'r2', modelDir: v.dir, onnxPath: v.external.onnxPath, labelSet: p.vitLabelSet }] : []);
  return [
    { name: 'tiny-clip-cifar10, bundled', source: 'bundled', modelDir: DEFAULT_MODEL_DIR, onnxPath: defaultOnnx, labelSet: p.defaultLabelSet },
    { name: 'tiny-clip-cifar10', source: 'r2', modelDir: DEFAULT_MODEL_DIR, onnxPath: defaultOnnx, labelSet: p.defaultLabelSet },
    ...external('vit-b-32-int8 (external data)', p.vitInt8),
    ...external('vit-b-32-q4 (external data)', p.vitQ4),
    // From the single-file q4 (another sha256 than its external-data graph: one model, one layout).
    { name: `vit-b-32-q4 (${p.parts} parts)`, source: 'r2', modelDir: p.vitQ4.dir, onnxPath: p.vitQ4.onnxPath, labelSet: p.vitLabelSet, parts: p.parts },
  ];
}

/** The repo's wrangler.toml with the entry made absolute, local vars added, in `dir` (so its .wrangler/state is there too). */
export function writeConfig(dir: string, vars: Record<string, string>, opts: { gcRoute?: boolean } = {}): string {
  const base = readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8');
  const main = /^main\s*=\s*"([^"]+)"/m.exec(base)?.[1];
  if (!main || !/^\[vars\]$/m.test(base)) throw new Error('wrangler.toml has no main entry or no [vars] section');
  const extra = Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n');
  // gcRoute: the production worker wrapped by bench/lib/gc-entry.ts (adds GET /__bench/gc).
  const entry = opts.gcRoute ? join(REPO_ROOT, 'bench', 'lib', 'gc-entry.ts') : join(REPO_ROOT, main);
  let toml = base.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(entry)}`);
  for (const k of Object.keys(vars)) toml = toml.replace(new RegExp(`^${k}\\s*=.*\\n`, 'm'), '');
  toml = toml.replace(/^\[vars\]$/m, `[vars]\n${extra}`);
  const path = join(dir, 'wrangler.toml');
  writeFileSync(path, toml);
  return path;
}

/** One label-set name per case (label-set names: letters, digits, ".", "_", "-"). */
const labelSetName = (c: R2BenchCase) => c.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');

export async function runModelFromR2(cases: readonly R2BenchCase[], jpeg: Uint8Array<ArrayBuffer>, opts: { coldStarts: number; warm: number }, log: (m: string) => void): Promise<ModelFromR2Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'prompt-edge-model-r2-'));
  try {
    const folders = cases.map((c) => readModelFolder(c.modelDir, { id: labelSetName(c), onnx: c.onnxPath, ...(c.parts ? { parts: c.parts } : {}) }));
    const vars = (i: number): Record<string, string> => ({ ADMIN_TOKEN, MAX_IMAGE_PIXELS: '40000000', ...(cases[i]!.source === 'r2' ? { VISION_MODEL_SHA256: folders[i]!.sha256 } : {}) });

    // Seeding: each model with its label set, through the admin API of a worker that serves it
    // (a label set is checked against the served model when it is published).
    let key = '';
    const uploadSeconds: number[] = [];
    for (const [i, c] of cases.entries()) {
      const folder = folders[i]!;
      const worker = await startWorker(writeConfig(dir, vars(i)));
      try {
        const client = new AdminClient({ baseUrl: worker.url, adminToken: ADMIN_TOKEN, local: false, devVars: {} }, { timeoutMs: 600_000 });
        if (key === '') key = (await client.createTenant(TENANT)).key;
        const t = performance.now();
        if (c.source === 'r2') {
          log(`model from R2: uploading ${c.name} (${folder.sha256.slice(0, 12)}…) through the admin API`);
          for (const file of folder.uploads) await client.putModelFile(folder.sha256, file.name, file.bytes(), file.entry.sha256);
          await client.publishModel(folder.sha256, folder.manifest);
        }
        uploadSeconds.push(round((performance.now() - t) / 1000, 1));
        const artifact = decodeLabelSet(new Uint8Array(readFileSync(c.labelSet)));
        const bytes = artifact.modelSha256 === folder.sha256 ? new Uint8Array(readFileSync(c.labelSet)) : encodeLabelSet({ ...artifact, modelSha256: folder.sha256 });
        await client.putLabelSet(TENANT, labelSetName(c), bytes);
      } finally {
        await worker.stop();
      }
    }

    const results: ModelFromR2Result[] = [];
    for (const [i, c] of cases.entries()) {
      const folder = folders[i]!;
      const coldStarts: ColdStart[] = [];
      let warm: number[] = [];
      for (let k = 0; k < opts.coldStarts; k++) {
        log(`model from R2: ${c.name}, fresh isolate ${k + 1}/${opts.coldStarts}`);
        const worker = await startWorker(writeConfig(dir, vars(i)));
        try {
          const first = await classifyOnce(worker.url, jpeg, labelSetName(c), key);
          const health = (await (await fetch(`${worker.url}/healthz`)).json()) as { model_source: string; model_sha256: string; model_load_ms?: ModelLoadSplit };
          if (health.model_source !== c.source || health.model_sha256 !== folder.sha256) throw new Error(`the worker serves ${health.model_source} ${health.model_sha256}, expected ${c.source} ${folder.sha256}`);
          coldStarts.push({ wallMs: round(first.wallMs), timings: first.timings, load: health.model_load_ms ?? null, wranglerStartSeconds: round(worker.startSeconds, 1), workerdPeakRss: worker.workerdMemory().peakRss });
          if (k === opts.coldStarts - 1) {
            warm = [];
            for (let j = 0; j < opts.warm; j++) warm.push((await classifyOnce(worker.url, jpeg, labelSetName(c), key)).wallMs);
          }
        } catch (err) {
          throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${worker.log().slice(-3000)}`);
        } finally {
          await worker.stop();
        }
      }
      const loads = coldStarts.map((s) => s.load).filter((l): l is ModelLoadSplit => l !== null);
      const med = (xs: number[]) => round(median(xs));
      results.push({
        name: c.name,
        source: c.source,
        sha256: folder.sha256,
        // What the worker reads: the parts when there are parts, else the whole graph and its weights.
        modelBytes: (folder.manifest.parts?.flatMap((p) => [p.onnx, ...(p.data ? [p.data] : [])]) ?? Object.values(folder.manifest.files)).reduce((n, f) => n + f.bytes, 0),
        externalData: folder.uploads.some((u) => isDataFile(u.name)),
        parts: c.parts ?? 0,
        uploadSeconds: uploadSeconds[i]!,
        coldStarts,
        cold: {
          wallMs: med(coldStarts.map((s) => s.wallMs)),
          totalMs: med(coldStarts.map((s) => s.timings.total)),
          encodeMs: med(coldStarts.map((s) => s.timings.encode)),
          load: loads.length === 0 ? null : { fetch: med(loads.map((l) => l.fetch)), verify: med(loads.map((l) => l.verify)), session: med(loads.map((l) => l.session)), total: med(loads.map((l) => l.total)) },
        },
        warm: summarize(warm),
      });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The row as a Markdown table (for run.ts's formatResults). */
export function formatModelFromR2(results: readonly ModelFromR2Result[]): string[] {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const lines = [
    'Cold start with the model read from R2 (fresh isolate: wrangler dev restarted, local R2; first POST /v1/classify, 640x480 JPEG), medians, ms',
    '',
    '| model | source | bytes read (MB) | first request wall | worker total | model load | R2 read | sha256 | session | warm wall p50 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const l = r.cold.load;
    const layout = r.parts ? `R2, ${r.parts} parts (graph + weights each)` : r.externalData ? 'R2, graph + weights' : 'R2';
    lines.push(`| ${r.name} | ${r.source === 'r2' ? layout : 'bundled'} | ${r.source === 'r2' ? (r.modelBytes / 1e6).toFixed(1) : '-'} | ${f(r.cold.wallMs)} | ${f(r.cold.totalMs)} | ${l ? f(l.total) : '?'} | ${l ? f(l.fetch) : '?'} | ${l ? f(l.verify) : '?'} | ${l ? f(l.session) : '?'} | ${f(r.warm.p50)} |`);
  }
  lines.push('');
  return lines;
}
