/**
 * Versioned label sets of a tenant. Artifacts are immutable R2 objects
 * (labelsets/<t>/<name>/<version>.safetensors, written create-only); which version is current, and
 * the history, live in the authoritative R2 record registry/labelsets/<t>/<name>.json, changed only
 * by compare-and-swap, and mirrored into KV for the request path (docs/storage.md).
 */
import type { LabelSetSummary } from '../../core/contract/api.ts';
import { sha256Hex } from '../../core/contract/sha256.ts';
import type { LabelSetArtifact } from '../../core/labelset/artifact.ts';
import { HttpError } from '../http/errors.ts';
import { labelSetNotFound } from '../http/not-found.ts';
import { kvKeys, r2Keys, versionOfArtifactKey } from './keys.ts';
import { currentVersion, labelSetRecord, parseRecord, type LabelSetRecord, type LabelSetVersion } from './records.ts';
import { MAX_CAS_ATTEMPTS, mirrorToKv, putJsonIf, readJson, type Versioned } from './r2-json.ts';

function busy(what: string): HttpError {
  return new HttpError('unavailable', `${what} kept conflicting with concurrent changes; retry the request.`);
}

/** The list routes' view of a record (core/contract/api.ts), or null for a tombstone. */
export function summarize(record: LabelSetRecord): LabelSetSummary | null {
  const cur = currentVersion(record);
  if (cur === null) return null;
  return {
    name: record.name,
    version: cur.version,
    labels: cur.labels,
    method: cur.method,
    metrics: cur.metrics,
    created_at: cur.created_at,
    model_id: cur.model_id,
    content_version: cur.content_version,
    trained_at: cur.trained_at,
    history: record.versions.map((v) => v.version),
  };
}

const isLive = (r: LabelSetRecord): boolean => r.deleted_at === undefined && r.current !== null;

/** What a publish did. */
export interface PublishOutcome {
  /** The version that now is current. */
  version: LabelSetVersion;
  /** False when the bytes were already a version of the label set (same sha256): that one is returned. */
  created: boolean;
  /** Whether the publish changed the current version (false: identical to the current version). */
  madeCurrent: boolean;
}

export class LabelSetStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly kv: KVNamespace,
    private readonly now: () => Date = () => new Date(),
  ) {}

  // --- authoritative reads (admin) -----------------------------------------------------------

  /** The live record, or null when the label set does not exist (or was deleted). */
  async get(tenant: string, name: string): Promise<LabelSetRecord | null> {
    const r = await this.read(tenant, name);
    return r !== null && isLive(r.value) ? r.value : null;
  }

  /** Names of the tenant's live label sets, sorted. */
  async names(tenant: string): Promise<string[]> {
    const names: string[] = [];
    const prefix = r2Keys.labelSetPrefix(tenant);
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix, include: ['customMetadata'], ...(cursor ? { cursor } : {}) });
      for (const o of page.objects) {
        if (o.customMetadata?.['state'] === 'live') names.push(o.key.slice(prefix.length).replace(/\.json$/, ''));
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return names.sort();
  }

  async list(tenant: string): Promise<LabelSetSummary[]> {
    const records = await Promise.all((await this.names(tenant)).map((n) => this.get(tenant, n)));
    return records.flatMap((r) => {
      const s = r === null ? null : summarize(r);
      return s ? [s] : [];
    });
  }

  // --- the request path (KV mirror) ----------------------------------------------------------

  /**
   * The current version as the mirror says, falling back to the R2 record when KV has none (a
   * label set published moments ago elsewhere, or a mirror write that failed).
   */
  async currentVersion(tenant: string, name: string): Promise<string | null> {
    const text = await this.kv.get(kvKeys.labelSet(tenant, name));
    if (text !== null) {
      const r = parseRecord(labelSetRecord, text, kvKeys.labelSet(tenant, name));
      if (isLive(r)) return r.current;
    }
    return (await this.get(tenant, name))?.current ?? null;
  }

  /** The tenant's live label sets from the KV mirror (GET /v1/labelsets). */
  async listMirrored(tenant: string): Promise<LabelSetSummary[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.kv.list({ prefix: kvKeys.labelSetPrefix(tenant), ...(cursor ? { cursor } : {}) });
      keys.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const texts = await Promise.all(keys.map((k) => this.kv.get(k)));
    return texts
      .flatMap((t, i) => {
        const s = t === null ? null : summarize(parseRecord(labelSetRecord, t, keys[i]!));
        return s ? [s] : [];
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The artifact bytes of one version (immutable), or null when it is gone. */
  async artifact(tenant: string, name: string, version: string): Promise<Uint8Array | null> {
    const obj = await this.bucket.get(r2Keys.artifact(tenant, name, version));
    return obj === null ? null : new Uint8Array(await obj.arrayBuffer());
  }

  // --- writes (admin) ------------------------------------------------------------------------

  /**
   * Stores an already validated artifact as a new version and makes it current. The artifact is
   * written completely (create-only, so no version is ever overwritten) before the record that
   * makes it current is swapped in; a concurrent publish that took our number first makes us take
   * the next free one. With `ifAbsent`, nothing is published (null) once any record exists for the
   * name, even a tombstone: the demo seed uses it so that it never publishes twice.
   *
   * Bytes identical (sha256) to a version in the history create no new version: a retried or
   * repeated upload would otherwise pile up copies. That version is returned (`created: false`)
   * and made current again if it no longer was, since a publish means "serve these bytes".
   */
  async publish(tenant: string, name: string, bytes: Uint8Array<ArrayBuffer>, artifact: LabelSetArtifact, opts: { ifAbsent?: boolean } = {}): Promise<PublishOutcome | null> {
    const sha256 = await sha256Hex(bytes);
    let allocated: number | null = null;
    const release = async () => {
      if (allocated !== null) await this.bucket.delete(r2Keys.artifact(tenant, name, String(allocated)));
      allocated = null;
    };
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(tenant, name);
      if (cur !== null && opts.ifAbsent) {
        await release();
        return null;
      }
      const same = cur !== null && isLive(cur.value) ? cur.value.versions.find((v) => v.sha256 === sha256) : undefined;
      // Its artifact is immutable and only deleted with the whole label set; the head is a guard.
      if (cur !== null && same !== undefined && (await this.bucket.head(r2Keys.artifact(tenant, name, same.version))) !== null) {
        // A concurrent identical publish committed first: ours is not needed.
        await release();
        if (cur.value.current === same.version) return { version: same, created: false, madeCurrent: false };
        const at = this.now().toISOString();
        const written = await this.swap({ ...cur.value, current: same.version, revision: cur.value.revision + 1, updated_at: at }, cur);
        if (written !== null) {
          await this.mirror(written);
          return { version: same, created: false, madeCurrent: true };
        }
        continue;
      }
      const next = cur?.value.next_version ?? 1;
      if (allocated !== null && allocated < next) {
        // A later-numbered publish committed first: keep versions increasing along the history by
        // taking a fresh number (ours was never referenced, so it can go).
        await release();
      }
      allocated ??= await this.writeArtifact(tenant, name, next, bytes, sha256);
      const at = this.now().toISOString();
      const entry: LabelSetVersion = {
        version: String(allocated),
        created_at: at,
        sha256,
        bytes: bytes.byteLength,
        labels: [...artifact.labels],
        method: artifact.method,
        metrics: { ...artifact.metrics },
        model_id: artifact.modelId,
        content_version: artifact.version,
        trained_at: artifact.createdAt,
      };
      const record: LabelSetRecord = {
        tenant,
        name,
        current: entry.version,
        versions: [...(cur?.value.versions ?? []), entry],
        next_version: allocated + 1,
        revision: (cur?.value.revision ?? 0) + 1,
        updated_at: at,
      };
      const written = await this.swap(record, cur);
      if (written !== null) {
        await this.mirror(written);
        return { version: entry, created: true, madeCurrent: true };
      }
    }
    await release();
    throw busy(`Publishing label set "${name}" of tenant "${tenant}"`);
  }

  /** Makes `version` (default: the one before the current one) current again. */
  async rollback(tenant: string, name: string, version?: string): Promise<LabelSetRecord> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(tenant, name);
      if (cur === null || !isLive(cur.value)) throw labelSetNotFound(tenant, name);
      const versions = cur.value.versions;
      let target: string;
      if (version === undefined) {
        const i = versions.findIndex((v) => v.version === cur.value.current);
        if (i <= 0) throw new HttpError('conflict', `Label set "${name}" of tenant "${tenant}" has no version before ${cur.value.current} to roll back to. Pass {"version": "<n>"} to pick one (history: ${versions.map((v) => v.version).join(', ')}).`);
        target = versions[i - 1]!.version;
      } else {
        if (!versions.some((v) => v.version === version)) {
          throw new HttpError('version_not_found', `Label set "${name}" of tenant "${tenant}" has no version "${version}" (history: ${versions.map((v) => v.version).join(', ')}).`);
        }
        target = version;
      }
      if (target === cur.value.current) return cur.value;
      if ((await this.bucket.head(r2Keys.artifact(tenant, name, target))) === null) {
        throw new HttpError('internal', `The artifact of version ${target} of label set "${name}" (tenant "${tenant}") is missing from R2; roll back to another version or publish again.`);
      }
      const record: LabelSetRecord = { ...cur.value, current: target, revision: cur.value.revision + 1, updated_at: this.now().toISOString() };
      const written = await this.swap(record, cur);
      if (written !== null) {
        await this.mirror(written);
        return record;
      }
    }
    throw busy(`Rolling back label set "${name}" of tenant "${tenant}"`);
  }

  /**
   * Deletes the label set: the record becomes a tombstone (keeping `next_version`, so a later
   * publish under the same name never reuses a version number that isolates may still have
   * cached), the mirror goes, then the artifacts.
   */
  async delete(tenant: string, name: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.read(tenant, name);
      if (cur === null || !isLive(cur.value)) throw labelSetNotFound(tenant, name);
      const at = this.now().toISOString();
      const tombstone: LabelSetRecord = { ...cur.value, current: null, versions: [], revision: cur.value.revision + 1, updated_at: at, deleted_at: at };
      const written = await this.swap(tombstone, cur);
      if (written !== null) {
        await this.mirror(written);
        await this.deleteArtifactsBelow(tenant, name, tombstone.next_version);
        return;
      }
    }
    throw busy(`Deleting label set "${name}" of tenant "${tenant}"`);
  }

  // --- plumbing ------------------------------------------------------------------------------

  private read(tenant: string, name: string): Promise<Versioned<LabelSetRecord> | null> {
    return readJson(this.bucket, r2Keys.labelSet(tenant, name), labelSetRecord);
  }

  private swap(record: LabelSetRecord, expected: Versioned<LabelSetRecord> | null): Promise<Versioned<LabelSetRecord> | null> {
    return putJsonIf(this.bucket, r2Keys.labelSet(record.tenant, record.name), record, expected?.etag ?? null, { state: isLive(record) ? 'live' : 'deleted' });
  }

  /** Writes the artifact create-only at the first free number from `from`; returns that number. */
  private async writeArtifact(tenant: string, name: string, from: number, bytes: Uint8Array<ArrayBuffer>, sha256: string): Promise<number> {
    for (let v = from; v < from + MAX_CAS_ATTEMPTS; v++) {
      // R2 checks the sha256 of what it received: a body cut short in transit is refused, not stored.
      const obj = await this.bucket.put(r2Keys.artifact(tenant, name, String(v)), bytes, {
        onlyIf: { etagDoesNotMatch: '*' },
        sha256,
        httpMetadata: { contentType: 'application/octet-stream' },
        customMetadata: { sha256 },
      });
      if (obj !== null) return v;
    }
    throw busy(`Publishing label set "${name}" of tenant "${tenant}"`);
  }

  /**
   * Removes the artifacts numbered below `bound`. A publish racing the delete holds a number at or
   * above it (or re-allocates one, see publish), so its artifact is never removed from under it.
   */
  private async deleteArtifactsBelow(tenant: string, name: string, bound: number): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: r2Keys.artifactPrefix(tenant, name), ...(cursor ? { cursor } : {}) });
      const doomed = page.objects.map((o) => o.key).filter((k) => (versionOfArtifactKey(k) ?? Infinity) < bound);
      if (doomed.length) await this.bucket.delete(doomed);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }

  private mirror(written: Versioned<LabelSetRecord>): Promise<void> {
    const { tenant, name } = written.value;
    const key = kvKeys.labelSet(tenant, name);
    return mirrorToKv(written, () => this.read(tenant, name), (r) => (r === null || !isLive(r) ? this.kv.delete(key) : this.kv.put(key, JSON.stringify(r))));
  }
}
