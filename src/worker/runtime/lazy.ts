/**
 * A value loaded once per isolate on first use. Concurrent first callers share one in-flight load;
 * a load that fails is forgotten, so a later request retries instead of failing forever. With
 * `retryAfterMs`, the failure is answered as is for that long first: a load that costs a large R2
 * read is then not repeated by every request while the object stays broken.
 */
export interface Lazy<T> {
  get(): Promise<T>;
  /** True once a load has succeeded (for health reporting; never triggers a load). */
  readonly loaded: boolean;
}

export interface LazyOptions {
  /** How long a failed load is answered from memory before the next call retries it; default 0. */
  readonly retryAfterMs?: number;
  /** Clock for `retryAfterMs` (tests). */
  readonly now?: () => number;
}

export function lazy<T>(load: () => Promise<T>, opts: LazyOptions = {}): Lazy<T> {
  const retryAfterMs = opts.retryAfterMs ?? 0;
  const now = opts.now ?? (() => Date.now());
  let pending: Promise<T> | null = null;
  let failedAt: number | null = null;
  let loaded = false;
  return {
    get(): Promise<T> {
      if (pending !== null && failedAt !== null && now() - failedAt >= retryAfterMs) {
        pending = null;
        failedAt = null;
      }
      if (pending === null) {
        const attempt: Promise<T> = load().then(
          (value) => {
            loaded = true;
            return value;
          },
          (err: unknown) => {
            if (pending === attempt) {
              if (retryAfterMs > 0) failedAt = now();
              else pending = null;
            }
            throw err;
          },
        );
        pending = attempt;
      }
      return pending;
    },
    get loaded() {
      return loaded;
    },
  };
}
