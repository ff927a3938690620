/** Order statistics for latency samples (milliseconds). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  // Nearest-rank on a sorted copy: p95 of 20 samples is the 19th.
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export interface LatencySummary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly min: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  return { n: samples.length, p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), min: round(Math.min(...samples)) };
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `fn` `warmup` times untimed, then `n` times timed; returns the timings in ms. */
export async function timeRuns(n: number, warmup: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}
