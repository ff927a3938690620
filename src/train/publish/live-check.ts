/**
 * The live check after a publish: the held-out images go through the real endpoint
 * (`POST /v1/classify?labelset=NAME` with the tenant's key) and each top-1 label must equal the
 * offline prediction for the same file. Because a deployed worker may serve the previous version
 * for a short while (KV propagation, per-isolate caches), a response naming another version is
 * retried until `waitMs` has passed; only then is it a failure.
 */
import { PromptEdgeError } from '../../core/errors.ts';
import { sniffFormat } from '../../core/image/image-header.ts';
import type { AdminClient } from './admin-client.ts';
import { AdminApiError } from './admin-client.ts';

export interface OfflinePrediction {
  file: string;
  /** Ground-truth class, used only to spread a capped sample over the classes. */
  truth: string;
  predicted: string;
}

export interface LiveMismatch {
  file: string;
  offline: string;
  live: string;
  /** Set when the endpoint kept serving another version than the one published. */
  servedVersion?: string;
}

export interface LiveCheckResult {
  checked: number;
  agreed: number;
  /** Of the held-out images available, how many were not sent because of the cap. */
  notSent: number;
  version: string;
  mismatches: LiveMismatch[];
  seconds: number;
}

/**
 * Up to `max` predictions, taken round-robin over the true classes (in first-seen order) so that a
 * capped check still covers every class; the input order is kept inside each class.
 */
export function pickForLiveCheck<T extends { truth: string }>(preds: readonly T[], max: number): T[] {
  if (preds.length <= max) return [...preds];
  const byClass = new Map<string, T[]>();
  for (const p of preds) {
    const list = byClass.get(p.truth) ?? [];
    list.push(p);
    byClass.set(p.truth, list);
  }
  const queues = [...byClass.values()];
  const out: T[] = [];
  for (let round = 0; out.length < max; round++) {
    for (const q of queues) {
      if (round < q.length && out.length < max) out.push(q[round]!);
    }
  }
  return out;
}

/** Compares offline and live top-1 labels file by file; `accepted`: the version strings that name the published label set. */
export function compareLive(offline: readonly OfflinePrediction[], live: readonly { label: string; version: string }[], accepted: readonly string[]): LiveMismatch[] {
  const out: LiveMismatch[] = [];
  offline.forEach((o, i) => {
    const l = live[i]!;
    if (!accepted.includes(l.version)) out.push({ file: o.file, offline: o.predicted, live: l.label, servedVersion: l.version });
    else if (l.label !== o.predicted) out.push({ file: o.file, offline: o.predicted, live: l.label });
  });
  return out;
}

export interface LiveCheckOptions {
  labelset: string;
  tenantKey: string;
  /** The store version the upload returned. */
  expectedVersion: string;
  /** Other names of the same label set, e.g. the artifact's content version (a worker may report either). */
  alsoAccept?: readonly string[];
  readFile: (path: string) => Uint8Array;
  max: number;
  /** How long a stale version (or a not-yet-visible label set) is retried; default 90 s. */
  waitMs?: number;
  pollMs?: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runLiveCheck(client: AdminClient, offline: readonly OfflinePrediction[], o: LiveCheckOptions): Promise<LiveCheckResult> {
  const t0 = performance.now();
  const picked = pickForLiveCheck(offline, o.max);
  const deadline = Date.now() + (o.waitMs ?? 90_000);
  const accepted = [o.expectedVersion, ...(o.alsoAccept ?? [])];
  const sleep = o.sleep ?? defaultSleep;
  const live: { label: string; version: string }[] = new Array(picked.length);
  let next = 0;
  let done = 0;
  const one = async (i: number) => {
    const p = picked[i]!;
    const bytes = o.readFile(p.file);
    const contentType = `image/${sniffFormat(bytes)}`;
    for (;;) {
      try {
        const r = await client.classify(o.tenantKey, bytes, { labelset: o.labelset, topK: 1, contentType, what: `live check: classify ${p.file}` });
        const top = r.labels[0];
        if (!top) throw new PromptEdgeError('internal', `live check: the endpoint returned no label for ${p.file}.`);
        live[i] = { label: top.label, version: r.labelset.version };
        if (accepted.includes(r.labelset.version) || Date.now() >= deadline) return;
      } catch (err) {
        // Right after a publish a deployed worker may not see the label set yet: retry 404s until the deadline.
        if (!(err instanceof AdminApiError && err.status === 404 && Date.now() < deadline)) throw err;
      }
      await sleep(o.pollMs ?? 2000);
    }
  };
  const worker = async () => {
    while (next < picked.length) {
      const i = next++;
      await one(i);
      o.onProgress?.(++done, picked.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, picked.length)) }, worker));
  const mismatches = compareLive(picked, live, accepted);
  return {
    checked: picked.length,
    agreed: picked.length - mismatches.length,
    notSent: offline.length - picked.length,
    version: o.expectedVersion,
    mismatches,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Thrown when live and offline predictions disagree; lists the files. */
export class LiveCheckError extends PromptEdgeError {
  readonly result: LiveCheckResult;
  constructor(result: LiveCheckResult) {
    const stale = result.mismatches.filter((m) => m.servedVersion !== undefined);
    const list = result.mismatches.slice(0, 50).map((m) => `  ${m.file}: offline ${m.offline}, live ${m.live}${m.servedVersion !== undefined ? ` (served version ${m.servedVersion})` : ''}`);
    super(
      'conflict',
      [
        `live check failed: ${result.mismatches.length} of ${result.checked} images got a different top-1 label from the live endpoint than offline` +
          (stale.length ? ` (${stale.length} answered by another version than the published ${result.version}: the new version did not become current in time)` : '') + ':',
        ...list,
        ...(result.mismatches.length > list.length ? [`  ... and ${result.mismatches.length - list.length} more (see summary.json)`] : []),
      ].join('\n'),
    );
    this.result = result;
  }
}
