/** Shared helpers for the image tests: the fixture files and the source-image generators of scripts/gen-image-vectors.py. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../../src/core/image/rgb-image.ts';
import { sharedPath } from '../helpers/shared.ts';

/** A file or folder under ../shared/datasets; the test fails naming it when it is missing. */
export function sharedDataset(relative: string): string {
  return sharedPath(join('datasets', relative));
}

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/image/${name}`, import.meta.url), 'utf8')) as T;
}

export interface SourceSpec {
  kind: 'noise' | 'smooth';
  width: number;
  height: number;
  seed: number;
}

/** Byte expectations: full bytes (base64) for small outputs, else sha256 + sampled [index, value] pairs. */
export interface U8Expected {
  b64?: string;
  sha256?: string;
  samples?: [number, number][];
}

export function fromBase64(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function* xorshift32(seed: number): Generator<number, never> {
  let x = seed >>> 0 || 0x9e3779b9;
  for (;;) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x;
  }
}

export function makeSource(spec: SourceSpec): RgbImage {
  const { width: w, height: h, seed } = spec;
  const data = new Uint8Array(w * h * 3);
  const g = xorshift32(seed);
  if (spec.kind === 'noise') {
    for (let i = 0; i < data.length; i++) data[i] = g.next().value >>> 24;
  } else {
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 3) {
        const n = g.next().value;
        data[i] = Math.min(255, Math.floor((x * 200) / Math.max(1, w - 1)) + ((n >>> 24) & 31));
        data[i + 1] = Math.min(255, Math.floor((y * 200) / Math.max(1, h - 1)) + ((n >>> 16) & 31));
        data[i + 2] = Math.min(255, Math.floor(((x + y) * 220) / Math.max(1, w + h - 2)) + ((n >>> 8) & 31));
      }
    }
  }
  return { width: w, height: h, data };
}

/** Number of bytes that differ from the expectation (exact when stored in full, else sampled + hash). */
export function u8Mismatch(actual: Uint8Array, expected: U8Expected): { differing: number; hashMatches: boolean } {
  if (expected.b64 !== undefined) {
    const want = fromBase64(expected.b64);
    if (want.length !== actual.length) return { differing: Math.max(want.length, actual.length), hashMatches: false };
    let differing = 0;
    for (let i = 0; i < want.length; i++) if (want[i] !== actual[i]) differing++;
    return { differing, hashMatches: differing === 0 };
  }
  let differing = 0;
  for (const [i, v] of expected.samples ?? []) if (actual[i] !== v) differing++;
  return { differing, hashMatches: sha256Hex(actual) === expected.sha256 };
}
