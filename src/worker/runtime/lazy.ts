/**
 * A value loaded once per isolate on first use. Concurrent first callers share one in-flight load;
 * a load that fails is forgotten, so the next request retries instead of failing forever.
 */
export interface Lazy<T> {
  get(): Promise<T>;
  /** True once a load has succeeded (for health reporting; never triggers a load). */
  readonly loaded: boolean;
}

export function lazy<T>(load: () => Promise<T>): Lazy<T> {
  let pending: Promise<T> | null = null;
  let loaded = false;
  return {
    get(): Promise<T> {
      if (pending === null) {
        const attempt = load().then(
          (value) => {
            loaded = true;
            return value;
          },
          (err: unknown) => {
            if (pending === attempt) pending = null;
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
