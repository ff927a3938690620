/**
 * The label sets an isolate has seen, cached at two levels:
 *  - which version of a (tenant, name) is current: trusted for `ttlMs` (CURRENT_VERSION_TTL_MS),
 *    so a publish or rollback reaches this isolate within that time after storage shows it;
 *  - the decoded, model-checked artifact of each (tenant, name, version): versions are immutable,
 *    so it is decoded once and kept until the byte budget pushes it out (least recently used first).
 * Misses and failed loads are not cached: a label set published a moment ago is found at once.
 */
import type { DecodeExpectations, LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { decodeLabelSet } from '../../core/labelset/artifact.ts';
import { headBytes } from '../../core/labelset/head.ts';
import { HttpError } from '../http/errors.ts';
import { labelSetNotFound } from '../http/not-found.ts';
import { lazy, type Lazy } from '../runtime/lazy.ts';
import { refToString, type LabelSetRef, type LabelSetSource } from './source.ts';

/** What a label set must match to be used with the deployed model. */
export type ModelExpectations = Required<Pick<DecodeExpectations, 'dim' | 'modelSha256'>>;

export interface ResolvedLabelSet {
  /** The store version (the one classify reports). */
  readonly version: string;
  readonly artifact: LabelSetArtifact;
}

export interface RegistryOptions {
  /** Budget for decoded label sets in this isolate (128 MB in all, the model included). Default 24 MiB. */
  maxCachedBytes?: number;
  /** Clock for the pointer TTL (tests). */
  now?: () => number;
}

/** Enough distinct label sets for any real tenant mix; past it the pointer cache starts over. */
const MAX_POINTERS = 10_000;

interface Pointer {
  readonly at: number;
  readonly version: Promise<string | null>;
}

interface Decoded {
  readonly value: Lazy<LabelSetArtifact>;
  bytes: number;
}

const key = (...parts: string[]): string => JSON.stringify(parts);

function sizeOf(a: LabelSetArtifact): number {
  return a.classEmbeddings.byteLength + headBytes(a.head) + (a.ctx?.data.byteLength ?? 0) + a.labels.reduce((s, l) => s + 2 * l.length, 0);
}

export class LabelSetRegistry {
  private readonly pointers = new Map<string, Pointer>();
  private readonly decoded = new Map<string, Decoded>();
  private cachedBytes = 0;
  private readonly maxCachedBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly expectations: () => Promise<ModelExpectations>,
    opts: RegistryOptions = {},
  ) {
    this.maxCachedBytes = opts.maxCachedBytes ?? 24 * 1024 * 1024;
    this.now = opts.now ?? (() => Date.now());
  }

  /** The current version of `ref` and its decoded artifact; 404 `labelset_not_found` when there is none. */
  async get(source: LabelSetSource, ref: LabelSetRef, ttlMs: number): Promise<ResolvedLabelSet> {
    const version = await this.currentVersion(source, ref, ttlMs);
    if (version === null) throw labelSetNotFound(ref.tenant, ref.name);
    try {
      return { version, artifact: await this.artifact(source, ref, version) };
    } catch (err) {
      // The version vanished (the label set was deleted): forget the pointer so the next request asks again.
      if (err instanceof HttpError && err.code === 'labelset_not_found') this.pointers.delete(key(ref.tenant, ref.name));
      throw err;
    }
  }

  /** Number of decoded label sets held (for tests and health). */
  get size(): number {
    return this.decoded.size;
  }

  private currentVersion(source: LabelSetSource, ref: LabelSetRef, ttlMs: number): Promise<string | null> {
    const k = key(ref.tenant, ref.name);
    const now = this.now();
    const hit = this.pointers.get(k);
    if (hit !== undefined && now - hit.at < ttlMs) return hit.version;
    if (ttlMs <= 0) return source.currentVersion(ref);
    if (this.pointers.size >= MAX_POINTERS) this.pointers.clear();
    const entry: Pointer = { at: now, version: source.currentVersion(ref) };
    this.pointers.set(k, entry);
    const forget = () => {
      if (this.pointers.get(k) === entry) this.pointers.delete(k);
    };
    // A miss or a failed lookup is not remembered.
    entry.version.then((v) => v === null && forget(), forget);
    return entry.version;
  }

  private async artifact(source: LabelSetSource, ref: LabelSetRef, version: string): Promise<LabelSetArtifact> {
    const k = key(ref.tenant, ref.name, version);
    let entry = this.decoded.get(k);
    if (entry !== undefined) {
      // Most recently used goes to the end of the Map's order.
      this.decoded.delete(k);
      this.decoded.set(k, entry);
    } else {
      const created: Decoded = { value: lazy(() => this.load(source, ref, version)), bytes: 0 };
      entry = created;
      this.decoded.set(k, created);
    }
    const e = entry;
    try {
      const artifact = await e.value.get();
      if (e.bytes === 0 && this.decoded.get(k) === e) {
        e.bytes = sizeOf(artifact);
        this.cachedBytes += e.bytes;
        this.evict(k);
      }
      return artifact;
    } catch (err) {
      if (this.decoded.get(k) === e && !e.value.loaded) this.decoded.delete(k);
      throw err;
    }
  }

  /** Drops least recently used label sets until the budget holds (never the one just loaded). */
  private evict(keep: string): void {
    for (const [k, e] of this.decoded) {
      if (this.cachedBytes <= this.maxCachedBytes) break;
      if (k === keep) continue;
      this.decoded.delete(k);
      this.cachedBytes -= e.bytes;
    }
  }

  private async load(source: LabelSetSource, ref: LabelSetRef, version: string): Promise<LabelSetArtifact> {
    const [bytes, expect] = await Promise.all([source.fetch(ref, version), this.expectations()]);
    if (bytes === null) throw labelSetNotFound(ref.tenant, ref.name);
    return decodeLabelSet(bytes, { ...expect, source: `label set ${refToString(ref)} version ${version}` });
  }
}
