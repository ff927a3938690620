/**
 * POST /v1/classify through the real worker in workerd (`wrangler dev`): cold start (the first
 * request of the fresh isolate, which creates the ORT session), then p50/p95 of the client-side
 * wall time and of the worker's own stage timings, per label set, plus workerd's resident memory.
 */
import { summarize, round, type LatencySummary } from '../lib/stats.ts';
import { classifyOnce, startWorker, writeWorkerConfig, type ClassifyTimings, type WorkerModel } from '../lib/worker.ts';

export interface StageSplit { decode: number; preprocess: number; encode: number; score: number; total: number }

export interface LabelSetLatency {
  readonly labels: number;
  /** Client-side wall time per request (localhost HTTP through wrangler's proxy included). */
  readonly wall: LatencySummary;
  /** The worker's own `timings_ms.total`. */
  readonly server: LatencySummary;
  /** p50 of each stage. */
  readonly split: StageSplit;
  readonly p95Split: StageSplit;
  /** Top-1 label of the last request. */
  readonly top: string;
}

export interface WorkerLatencyResult {
  readonly model: string;
  readonly wranglerStartSeconds: number;
  readonly coldStart: { wallMs: number; timings: ClassifyTimings };
  readonly byLabelSet: Record<string, LabelSetLatency>;
  /** workerd process RSS: after start (no model loaded yet) and its peak after the run, bytes. */
  readonly workerdRss: { idle: number; peak: number };
}

function stageSummary(samples: readonly ClassifyTimings[], p: 'p50' | 'p95'): StageSplit {
  const pick = (k: keyof StageSplit) => summarize(samples.map((s) => s[k]))[p];
  return { decode: pick('decode'), preprocess: pick('preprocess'), encode: pick('encode'), score: pick('score'), total: pick('total') };
}

/**
 * `opts.v8Flags`: V8 flags for workerd (miniflare passes MINIFLARE_WORKERD_V8_FLAGS on), for
 * diagnostic runs only; the result's model is then labelled with them.
 */
export async function runWorkerLatency(model: WorkerModel, labelCounts: Record<string, number>, jpeg: Uint8Array<ArrayBuffer>, opts: { n: number; warmup: number; v8Flags?: string }): Promise<WorkerLatencyResult> {
  const worker = await startWorker(writeWorkerConfig(model), undefined, opts.v8Flags ? { MINIFLARE_WORKERD_V8_FLAGS: opts.v8Flags } : {});
  try {
    const idle = worker.workerdMemory().rss;
    const names = Object.keys(labelCounts);
    const cold = await classifyOnce(worker.url, jpeg, names[0]!);
    const byLabelSet: Record<string, LabelSetLatency> = {};
    for (const name of names) {
      for (let i = 0; i < opts.warmup; i++) await classifyOnce(worker.url, jpeg, name);
      const runs = [];
      for (let i = 0; i < opts.n; i++) runs.push(await classifyOnce(worker.url, jpeg, name));
      byLabelSet[name] = {
        labels: labelCounts[name]!,
        wall: summarize(runs.map((r) => r.wallMs)),
        server: summarize(runs.map((r) => r.timings.total)),
        split: stageSummary(runs.map((r) => r.timings), 'p50'),
        p95Split: stageSummary(runs.map((r) => r.timings), 'p95'),
        top: runs.at(-1)?.top ?? '',
      };
    }
    const mem = worker.workerdMemory();
    return { model: opts.v8Flags ? `${model.id} (workerd ${opts.v8Flags})` : model.id, wranglerStartSeconds: round(worker.startSeconds, 1), coldStart: { wallMs: round(cold.wallMs), timings: cold.timings }, byLabelSet, workerdRss: { idle, peak: mem.peakRss } };
  } catch (err) {
    const log = worker.log().split('\n').filter((l) => !/ENOTFOUND|GetAddrInfo|callbackTrampoline|Request\.cf/.test(l)).join('\n');
    throw new Error(`${(err as Error).message}\n--- wrangler output ---\n${log.slice(-3000)}`);
  } finally {
    await worker.stop();
  }
}
