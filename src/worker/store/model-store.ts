/**
 * Vision models in R2, one folder per model keyed by the sha256 of its identity file
 * (models/<sha256>/: vision_model.onnx, optionally its external-data weights or parts, and
 * manifest.json; or vision_model.edge-vit and manifest.json for the edge-vit engine). Files are
 * streamed into R2 with their sha256, which R2 checks against what it received, so a body cut short
 * or altered in transit is never stored. The manifest is written last and create-only: a model with
 * a manifest is complete and never changes (docs/storage.md, "Vision models in R2").
 */
import { identityEntry, manifestContent, manifestFiles, MODEL_MANIFEST_FORMAT, modelManifest, type ModelManifest, type ModelManifestInput } from '../../core/contract/model-manifest.ts';
import { toHex } from '../../core/contract/sha256.ts';
import { isIdentityFile, VISION_GRAPH, type ModelFileName } from '../../core/model-files.ts';
import { HttpError } from '../http/errors.ts';
import { r2Keys } from './keys.ts';
import { parseRecord } from './records.ts';

/** What R2 says about a stored file: its size and the sha256 R2 verified when it was put (null if it was put without one). */
export interface StoredFile {
  readonly bytes: number;
  readonly sha256: string | null;
}

function isBadDigest(err: unknown): boolean {
  // R2's BadDigest (error 10037): the body's sha256 is not the one given with the put.
  return err instanceof Error && /10037|checksum you specified did not match/i.test(err.message);
}

export class ModelStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The manifest of a published model, or null. A manifest that does not parse is an error (the object is corrupted). */
  async manifest(sha256: string): Promise<ModelManifest | null> {
    const obj = await this.bucket.get(r2Keys.modelManifest(sha256));
    if (obj === null) return null;
    return parseRecord(modelManifest, await obj.text(), r2Keys.modelManifest(sha256));
  }

  /** Every published model, sorted by id. */
  async list(): Promise<ModelManifest[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: r2Keys.modelPrefix, ...(cursor ? { cursor } : {}) });
      keys.push(...page.objects.map((o) => o.key).filter((k) => k.endsWith('/manifest.json')));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const manifests = await Promise.all(keys.map((k) => this.manifest(k.split('/')[1]!)));
    return manifests.flatMap((m) => (m ? [m] : [])).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async stat(sha256: string, file: ModelFileName): Promise<StoredFile | null> {
    const head = await this.bucket.head(r2Keys.modelFile(sha256, file));
    if (head === null) return null;
    const sum = head.checksums.sha256;
    return { bytes: head.size, sha256: sum ? toHex(sum) : null };
  }

  /**
   * sha256 of a stored file, streamed through the isolate without buffering it: for a file put
   * without a verified sha256 (by `wrangler r2 object put`, which also takes files over the
   * Workers request-body limit).
   */
  private async hashStored(sha256: string, file: ModelFileName): Promise<string | null> {
    const obj = await this.bucket.get(r2Keys.modelFile(sha256, file));
    if (obj === null) return null;
    // workerd's streamed SHA-256 (tsconfig's DOM lib types `crypto` without DigestStream).
    const digest = new (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream('SHA-256');
    await obj.body.pipeTo(digest);
    return toHex(await digest.digest);
  }

  /** One file as a stream (the edge-vit loader copies it into WASM memory as it arrives), with its stored size; null when missing. */
  async open(sha256: string, file: ModelFileName): Promise<{ body: ReadableStream<Uint8Array>; bytes: number } | null> {
    const obj = await this.bucket.get(r2Keys.modelFile(sha256, file));
    return obj === null ? null : { body: obj.body, bytes: obj.size };
  }

  /** The bytes of one file as stored (not verified here: the loader checks them against the manifest). */
  async read(sha256: string, file: ModelFileName): Promise<Uint8Array<ArrayBuffer> | null> {
    const obj = await this.bucket.get(r2Keys.modelFile(sha256, file));
    return obj === null ? null : new Uint8Array(await obj.arrayBuffer());
  }

  /**
   * Streams one file of model `sha256` into R2, refused by R2 unless its sha256 is `fileSha256`.
   * A file already stored with that sha256 and size is kept (the body is read but not stored: 'exists').
   * Anything else at the key (a corrupted or unverified object) is replaced, because the new one
   * is verified. Once the model is published, every file other than the graph (weights, parts)
   * can only be the one its manifest names.
   */
  async putFile(sha256: string, file: ModelFileName, body: ReadableStream<Uint8Array>, bytes: number, fileSha256: string): Promise<'created' | 'exists'> {
    if (isIdentityFile(file) && fileSha256 !== sha256) {
      throw new HttpError('invalid_argument', `${file} is stored under its own sha256: the sha256 given (${fileSha256}) is not the one in the path (${sha256}).`);
    }
    if (!isIdentityFile(file)) {
      const published = await this.manifest(sha256);
      const declared = published === null ? undefined : manifestFiles(published).find((f) => f.name === file)?.entry;
      if (published !== null && declared?.sha256 !== fileSha256) {
        throw new HttpError(
          'conflict',
          declared
            ? `Model ${sha256} is published with a ${file} of sha256 ${declared.sha256}; a published model never changes. A model with other weights needs its own ${identityEntry(published).name}.`
            : `Model ${sha256} is published without a ${file}; a published model never changes.`,
        );
      }
    }
    const existing = await this.stat(sha256, file);
    if (existing !== null && existing.sha256 === fileSha256 && existing.bytes === bytes) {
      // Read to the end rather than cancel: answering before a large upload is sent makes HTTP
      // clients (undici, curl) see a reset connection instead of the answer.
      await body.pipeTo(new WritableStream()).catch(() => undefined);
      return 'exists';
    }
    try {
      await this.bucket.put(r2Keys.modelFile(sha256, file), body, {
        sha256: fileSha256,
        httpMetadata: { contentType: 'application/octet-stream' },
      });
    } catch (err) {
      if (isBadDigest(err)) {
        throw new HttpError('invalid_artifact', `The uploaded ${file} does not have the sha256 ${fileSha256}: it was altered or cut short in transit, or it is another file. Nothing was stored; upload it again.`, {}, 422);
      }
      if (err instanceof TypeError) {
        throw new HttpError('invalid_argument', `The body of ${file} did not have the length its Content-Length declared (${bytes} bytes). Nothing was stored; upload it again.`);
      }
      throw err;
    }
    return 'created';
  }

  /**
   * Publishes the model: checks that every file the manifest names is stored with that size and
   * sha256 (the one R2 verified at upload, or else hashed here), then writes the manifest create-only. Publishing the same manifest
   * again is a no-op (`created: false`); a different one for a published model is a conflict.
   */
  async publish(sha256: string, input: ModelManifestInput): Promise<{ manifest: ModelManifest; created: boolean }> {
    const identity = identityEntry(input);
    if (identity.entry.sha256 !== sha256) {
      throw new HttpError('invalid_argument', `files["${identity.name}"].sha256 (${identity.entry.sha256}) must be the model's sha256 in the path (${sha256}).`);
    }
    const existing = await this.manifest(sha256);
    if (existing !== null) return this.samePublished(existing, input);
    for (const { name: file, entry: want } of manifestFiles(input)) {
      const stored = await this.stat(sha256, file);
      const upload = `upload it first: PUT /v1/admin/models/${sha256}/${file}${isIdentityFile(file) ? '' : `?sha256=${want.sha256}`}`;
      if (stored === null) throw new HttpError('conflict', `models/${sha256}/${file} is not in R2 yet; ${upload}.`);
      if (stored.bytes !== want.bytes) throw new HttpError('conflict', `models/${sha256}/${file} holds ${stored.bytes} bytes, the manifest says ${want.bytes}; ${upload}.`);
      const actual = stored.sha256 ?? (await this.hashStored(sha256, file));
      if (actual !== want.sha256) throw new HttpError('conflict', `models/${sha256}/${file} has sha256 ${actual ?? '(gone)'}, the manifest says ${want.sha256}; ${upload}.`);
    }
    const manifest: ModelManifest = { ...input, format: MODEL_MANIFEST_FORMAT, sha256, created_at: this.now().toISOString() };
    const written = await this.bucket.put(r2Keys.modelManifest(sha256), JSON.stringify(manifest), {
      onlyIf: { etagDoesNotMatch: '*' },
      httpMetadata: { contentType: 'application/json' },
    });
    if (written !== null) return { manifest, created: true };
    // A concurrent publish of this model won: fine if it was the same manifest.
    const winner = await this.manifest(sha256);
    if (winner === null) throw new HttpError('unavailable', `Publishing model ${sha256} raced with a delete; retry.`);
    return this.samePublished(winner, input);
  }

  private samePublished(existing: ModelManifest, input: ModelManifestInput): { manifest: ModelManifest; created: boolean } {
    if (manifestContent(existing) === manifestContent(input)) return { manifest: existing, created: false };
    throw new HttpError('conflict', `Model ${existing.sha256} is already published (as "${existing.id}", ${existing.created_at}) with a different manifest; a published model never changes.`);
  }
}
