/**
 * On-disk cache of frozen image features. The image tower never changes during CoOp training, so
 * the features of each image (and of each augmented view) are computed once and reused across
 * epochs, runs and configurations. Keyed by the vision model's sha256 and the image content hash,
 * never by path, so renamed or moved files still hit and edited files miss.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class FeatureCache {
  private readonly dir: string | undefined;
  hits = 0;
  misses = 0;

  /** cacheRoot undefined = no disk cache (memory only for this run). */
  constructor(cacheRoot: string | undefined, modelSha256: string, readonly dim: number) {
    this.dir = cacheRoot ? resolve(cacheRoot, 'features', modelSha256.slice(0, 16)) : undefined;
    if (this.dir) mkdirSync(this.dir, { recursive: true });
  }

  private path(key: string): string {
    return join(this.dir!, `${key}.f32`);
  }

  get(key: string): Float32Array | undefined {
    if (!this.dir) return undefined;
    const p = this.path(key);
    if (!existsSync(p)) return undefined;
    const buf = readFileSync(p);
    if (buf.byteLength !== this.dim * 4) return undefined; // stale or partial: recompute
    this.hits++;
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }

  put(key: string, feature: Float32Array): void {
    this.misses++;
    if (!this.dir) return;
    const p = this.path(key);
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, new Uint8Array(feature.buffer, feature.byteOffset, feature.byteLength));
    renameSync(tmp, p);
  }
}
