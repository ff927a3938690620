/**
 * The Worker's bindings (wrangler.toml [vars], secrets, R2 and KV) and the limits parsed from them.
 * Vars arrive as strings; a missing or malformed limit falls back to its documented default
 * (docs/api.md, docs/storage.md) rather than failing every request.
 */
export interface Env {
  /** Largest accepted request body in bytes (raw image or whole multipart body). */
  MAX_BODY_BYTES?: string;
  /** Largest accepted image, width x height, checked from the header before decoding. */
  MAX_IMAGE_PIXELS?: string;
  /** Largest accepted label-set upload in bytes (PUT /v1/admin/tenants/:t/labelsets/:name). */
  MAX_ARTIFACT_BYTES?: string;
  /** How long an isolate trusts its cached "current version" of a label set, in milliseconds. */
  CURRENT_VERSION_TTL_MS?: string;
  /**
   * API key of the `demo` tenant (a Worker secret; locally in .dev.vars). When set, the first
   * request of an isolate seeds the demo tenant with this key if it does not exist yet.
   */
  DEMO_API_KEY?: string;
  /** Opens the /v1/admin routes (a Worker secret; locally in .dev.vars). Unset: admin API disabled. */
  ADMIN_TOKEN?: string;
  /**
   * The sha256 of the vision model to serve from R2 (models/<sha256>/, docs/storage.md); unset or
   * empty: the model bundled into the Worker.
   */
  VISION_MODEL_SHA256?: string;
  /**
   * Which build of the edge-vit engine runs an edge-vit model: "relaxed" (default: relaxed SIMD's
   * int8 dot product) or "plain" (plain SIMD only). workerd compiles both at load; see
   * src/worker/vision/edge-vit-host.ts for why the choice is a setting there.
   */
  EDGE_VIT_SIMD?: string;
  /** Label-set artifacts, vision models and the authoritative registry records (docs/storage.md). */
  LABELSETS?: R2Bucket;
  /** The read-side mirror of the registry: key hashes, tenants, current label-set versions. */
  REGISTRY?: KVNamespace;
  /**
   * Rate-limit tiers ([[ratelimits]] in wrangler.toml): RATE_LIMIT_DEFAULT for tenants without a
   * tier, RATE_LIMIT_<TIER> for the others (auth/rate-limit.ts). None: nothing is limited.
   */
  [binding: `RATE_LIMIT_${string}`]: RateLimit | undefined;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Decoding costs about 10.5 bytes per pixel at peak (MozJPEG's RGBA heap, its copy, the RGB image),
 * measured on 4-40 MP JPEGs. A Worker isolate has 128 MB in all, the model included, so ~6 MP is
 * what fits with margin; bigger images must be downscaled by the client.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 6_000_000;
/**
 * 8 MiB holds 2000 classes x 1024 dims in F32 plus metadata; the upload is buffered and decoded in
 * the isolate (128 MB), so the limit also bounds the memory one upload can take.
 */
export const DEFAULT_MAX_ARTIFACT_BYTES = 8 * 1024 * 1024;
/** A publish or rollback reaches every isolate within this (plus KV propagation, docs/storage.md). */
export const DEFAULT_CURRENT_VERSION_TTL_MS = 5_000;

export interface Limits {
  readonly maxBodyBytes: number;
  readonly maxImagePixels: number;
  readonly maxArtifactBytes: number;
  readonly currentVersionTtlMs: number;
}

function intVar(raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= min ? n : fallback;
}

export function readLimits(env: Env): Limits {
  return {
    maxBodyBytes: intVar(env.MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1),
    maxImagePixels: intVar(env.MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, 1),
    maxArtifactBytes: intVar(env.MAX_ARTIFACT_BYTES, DEFAULT_MAX_ARTIFACT_BYTES, 1),
    // 0 is allowed: no caching of the pointer (every request reads KV).
    currentVersionTtlMs: intVar(env.CURRENT_VERSION_TTL_MS, DEFAULT_CURRENT_VERSION_TTL_MS, 0),
  };
}
