/**
 * The Worker's bindings (wrangler.toml [vars] and secrets) and the limits parsed from them.
 * Vars arrive as strings; a missing or malformed limit falls back to its documented default
 * (docs/api.md) rather than failing every request.
 */
export interface Env {
  /** Largest accepted request body in bytes (raw image or whole multipart body). */
  MAX_BODY_BYTES?: string;
  /** Largest accepted image, width x height, checked from the header before decoding. */
  MAX_IMAGE_PIXELS?: string;
  /** API key of the `demo` tenant (a Worker secret; locally in .dev.vars). */
  DEMO_API_KEY?: string;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Decoding costs about 10.5 bytes per pixel at peak (MozJPEG's RGBA heap, its copy, the RGB image),
 * measured on 4-40 MP JPEGs. A Worker isolate has 128 MB in all, the model included, so ~6 MP is
 * what fits with margin; bigger images must be downscaled by the client.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 6_000_000;

export interface Limits {
  readonly maxBodyBytes: number;
  readonly maxImagePixels: number;
}

function positiveInt(raw: string | undefined, fallback: number): number {
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export function readLimits(env: Env): Limits {
  return {
    maxBodyBytes: positiveInt(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
    maxImagePixels: positiveInt(env.MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS),
  };
}
