/**
 * Load check: POST /v1/classify against one `wrangler dev` (one workerd isolate, loopback only) at
 * concurrency 1, 8, 32 and 64, each level for a fixed time: throughput, latency percentiles and
 * errors per level. Bounded: a level stops issuing requests when its time is up and waits at most
 * one request timeout for those in flight.
 */
import { percentile, round } from '../lib/stats.ts';
import { BENCH_KEY, startWorker, writeWorkerConfig, type WorkerModel } from '../lib/worker.ts';

export const LOAD_LEVELS = [1, 8, 32, 64] as const;

export interface LoadLevel {
  readonly concurrency: number;
  readonly seconds: number;
  /** Requests answered 200. */
  readonly ok: number;
  /** Non-200 answers and failed requests (network error, timeout), by status or error name. */
  readonly errors: Record<string, number>;
  /** Successful requests per second over the level's wall time. */
  readonly throughput: number;
  /** Client-side wall time of the successful requests, ms. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadResult {
  readonly model: string;
  readonly labelSet: string;
  readonly levels: LoadLevel[];
}

const REQUEST_TIMEOUT_MS = 60_000;

async function level(url: string, jpeg: Uint8Array<ArrayBuffer>, labelSet: string, concurrency: number, seconds: number): Promise<LoadLevel> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        const res = await fetch(`${url}/v1/classify?labelset=${encodeURIComponent(labelSet)}&top_k=1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'image/jpeg' },
          body: jpeg,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        if (res.status === 200) latencies.push(performance.now() - t);
        else errors[String(res.status)] = (errors[String(res.status)] ?? 0) + 1;
      } catch (err) {
        const name = (err as Error).name || 'Error';
        errors[name] = (errors[name] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  return {
    concurrency,
    seconds: round(elapsed, 1),
    ok: latencies.length,
    errors,
    throughput: round(latencies.length / elapsed, 1),
    p50: round(percentile(latencies, 50), 1),
    p95: round(percentile(latencies, 95), 1),
    p99: round(percentile(latencies, 99), 1),
    max: round(latencies.length ? Math.max(...latencies) : NaN, 1),
  };
}

export async function runLoad(model: WorkerModel, labelSet: string, jpeg: Uint8Array<ArrayBuffer>, opts: { seconds: number; levels?: readonly number[]; log: (m: string) => void }): Promise<LoadResult> {
  const worker = await startWorker(writeWorkerConfig(model));
  try {
    const host = new URL(worker.url).hostname;
    if (host !== '127.0.0.1') throw new Error(`the load check only runs against loopback, not ${host}`);
    // Warm-up: the isolate's first request loads the model; not part of any level.
    await level(worker.url, jpeg, labelSet, 1, 1);
    const levels: LoadLevel[] = [];
    for (const c of opts.levels ?? LOAD_LEVELS) {
      opts.log(`load: concurrency ${c} for ${opts.seconds} s`);
      levels.push(await level(worker.url, jpeg, labelSet, c, opts.seconds));
    }
    return { model: model.id, labelSet, levels };
  } finally {
    await worker.stop();
  }
}
