/**
 * JSON records in R2 with compare-and-swap. R2 is strongly consistent and its conditional put is
 * atomic (`onlyIf.etagMatches`: write only if nobody wrote since we read; `etagDoesNotMatch: '*'`:
 * create only), which KV cannot do. That is what makes concurrent admin writes safe (docs/storage.md).
 */
import type { z } from 'zod';
import { parseRecord } from './records.ts';

export interface Versioned<T> {
  readonly value: T;
  /** The R2 etag of the object `value` was read from (or written as). */
  readonly etag: string;
}

export async function readJson<T extends z.ZodType>(bucket: R2Bucket, key: string, schema: T): Promise<Versioned<z.output<T>> | null> {
  const obj = await bucket.get(key);
  if (obj === null) return null;
  return { value: parseRecord(schema, await obj.text(), key), etag: obj.etag };
}

/**
 * Writes `value` only if the object still has etag `expected` (null: only if it does not exist yet).
 * Returns what was written, or null when another writer got there first (re-read and retry).
 */
export async function putJsonIf<T>(bucket: R2Bucket, key: string, value: T, expected: string | null, customMetadata: Record<string, string> = {}): Promise<Versioned<T> | null> {
  const obj = await bucket.put(key, JSON.stringify(value), {
    onlyIf: expected === null ? { etagDoesNotMatch: '*' } : { etagMatches: expected },
    httpMetadata: { contentType: 'application/json' },
    customMetadata,
  });
  return obj === null ? null : { value, etag: obj.etag };
}

/** How many times a compare-and-swap loop re-reads before giving up (only under heavy contention). */
export const MAX_CAS_ATTEMPTS = 10;

/**
 * Copies an authoritative R2 record into KV (`write(null)` deletes the mirror). KV has no
 * compare-and-swap, so two writers can overwrite each other's mirror out of order; re-reading the
 * record after each write and writing again when it changed guarantees that the last KV write of
 * all writers carries the newest record.
 */
export async function mirrorToKv<T>(written: Versioned<T> | null, read: () => Promise<Versioned<T> | null>, write: (value: T | null) => Promise<void>): Promise<void> {
  let copy = written;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    await write(copy === null ? null : copy.value);
    const now = await read();
    if ((now?.etag ?? null) === (copy?.etag ?? null)) return;
    copy = now;
  }
  // Every round saw a newer record: the writers behind those records mirror them themselves.
}
