import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageTooLargeError, InvalidImageError, UnsupportedMediaTypeError } from '../../src/core/errors.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { fromBase64, loadFixture, sharedDataset, sha256Hex, u8Mismatch, type U8Expected } from './image-test-utils.ts';

interface DecodeCase {
  name: string;
  png?: string;
  jpeg?: string;
  pillowMode: string;
  width: number;
  height: number;
  expected: U8Expected;
}
interface ErrorCase {
  name: string;
  png?: string;
  jpeg?: string;
  error: 'InvalidImageError' | 'UnsupportedMediaTypeError';
}
interface DatasetDigest {
  pattern: string;
  count: number;
  sha256: string;
  first: { path: string; sha256: string }[];
}

const png = loadFixture<{ pillow: string; cases: DecodeCase[]; errors: ErrorCase[] }>('png.json');
const jpeg = loadFixture<{ pillow: string; cases: DecodeCase[]; errors: ErrorCase[]; datasets: DatasetDigest[] }>('jpeg.json');
const ERRORS = { InvalidImageError, UnsupportedMediaTypeError };

beforeAll(async () => {
  await initNodeImageCodecs();
});

describe(`PNG decoding matches Pillow ${png.pillow} Image.open(f).convert('RGB')`, () => {
  it.each(png.cases.map((c) => [`${c.name} (Pillow mode ${c.pillowMode})`, c] as const))('%s', async (_name, c) => {
    const img = await decodeImage(fromBase64(c.png as string));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(u8Mismatch(img.data, c.expected)).toEqual({ differing: 0, hashMatches: true });
  });

  it.each(png.errors.map((c) => [c.name, c] as const))('rejects %s', async (_name, c) => {
    await expect(decodeImage(fromBase64(c.png as string))).rejects.toThrow(ERRORS[c.error]);
  });
});

describe(`JPEG decoding (MozJPEG WASM) matches Pillow ${jpeg.pillow} (libjpeg-turbo)`, () => {
  it.each(jpeg.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const img = await decodeImage(fromBase64(c.jpeg as string));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(u8Mismatch(img.data, c.expected)).toEqual({ differing: 0, hashMatches: true });
  });

  it.each(jpeg.errors.map((c) => [c.name, c] as const))('rejects %s', async (_name, c) => {
    await expect(decodeImage(fromBase64(c.jpeg as string))).rejects.toThrow(ERRORS[c.error]);
  });

  it('decodes from a view into a larger buffer', async () => {
    const bytes = fromBase64(jpeg.cases[0]?.jpeg as string);
    const padded = new Uint8Array(bytes.length + 64).fill(0xab);
    padded.set(bytes, 32);
    const img = await decodeImage(padded.subarray(32, 32 + bytes.length));
    expect(u8Mismatch(img.data, (jpeg.cases[0] as DecodeCase).expected).hashMatches).toBe(true);
  });

  it('rejects a truncated JPEG (Pillow: "image file is truncated") and keeps decoding afterwards', async () => {
    const bytes = fromBase64(jpeg.cases[2]?.jpeg as string);
    let sos = 2;
    while (!(bytes[sos] === 0xff && bytes[sos + 1] === 0xda)) sos++;
    // Cut inside the entropy-coded scan: libjpeg warns and fills with grey.
    await expect(decodeImage(bytes.subarray(0, sos + Math.floor((bytes.length - sos) / 2)))).rejects.toThrow(/Truncated JPEG/);
    // Cut before the scan: libjpeg exits with a fatal error; the decoder instance is replaced.
    await expect(decodeImage(bytes.subarray(0, sos))).rejects.toThrow(/Truncated JPEG/);
    // Not truncated but corrupt: a frame header claiming 3 components whose scan never comes.
    const noScan = new Uint8Array([...bytes.subarray(0, sos), 0xff, 0xd9]);
    await expect(decodeImage(noScan)).rejects.toThrow(InvalidImageError);
    const img = await decodeImage(bytes);
    expect(u8Mismatch(img.data, (jpeg.cases[2] as DecodeCase).expected).hashMatches).toBe(true);
  });

  it('decodes concurrent requests correctly', async () => {
    const cases = [...jpeg.cases, ...jpeg.cases];
    const imgs = await Promise.all(cases.map((c) => decodeImage(fromBase64(c.jpeg as string))));
    imgs.forEach((img, i) => expect(u8Mismatch(img.data, (cases[i] as DecodeCase).expected).hashMatches).toBe(true));
  });
});

/** Files matching `split/class/file.ext` under the dataset root, sorted as Python's sorted(glob()) sorts them. */
function datasetFiles(pattern: string): string[] {
  const [root, , , filePattern] = pattern.split('/');
  const ext = (filePattern as string).replace('*', '');
  const base = sharedDataset(root as string);
  const out: string[] = [];
  for (const split of readdirSync(base, { withFileTypes: true })) {
    if (!split.isDirectory()) continue;
    for (const cls of readdirSync(join(base, split.name), { withFileTypes: true })) {
      if (!cls.isDirectory()) continue;
      for (const f of readdirSync(join(base, split.name, cls.name))) if (f.endsWith(ext)) out.push(join(base, split.name, cls.name, f));
    }
  }
  return out.sort();
}

describe('shared datasets decode exactly as Pillow decodes them', () => {
  it.each(jpeg.datasets.map((d) => [d.pattern, d] as const))('%s', async (_pattern, d) => {
    const files = datasetFiles(d.pattern);
    expect(files.length).toBe(d.count);
    const hash = (await import('node:crypto')).createHash('sha256');
    for (const [i, path] of files.entries()) {
      const img = await decodeImage(new Uint8Array(readFileSync(path)));
      hash.update(img.data);
      const first = d.first[i];
      if (first) expect(sha256Hex(img.data), first.path).toBe(first.sha256);
    }
    expect(hash.digest('hex')).toBe(d.sha256);
  });
});

describe('decodeImage limits and formats', () => {
  const smallPng = fromBase64(png.cases.find((c) => c.name.startsWith('Pillow RGB 8-bit'))?.png as string);

  it('refuses an image over maxPixels from its header, before decoding', async () => {
    // A PNG header claiming 30000x30000 with no pixel data at all.
    const header = smallPng.slice(0, 33);
    const view = new DataView(header.buffer);
    view.setUint32(16, 30000);
    view.setUint32(20, 30000);
    await expect(decodeImage(header, { maxPixels: 40_000_000 })).rejects.toThrow(ImageTooLargeError);
    await expect(decodeImage(smallPng, { maxPixels: 23 * 17 - 1 })).rejects.toThrow(/over the limit/);
    await expect(decodeImage(smallPng, { maxPixels: 23 * 17 })).resolves.toMatchObject({ width: 23, height: 17 });
  });

  it('names unsupported formats', async () => {
    const tiff = new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]);
    await expect(decodeImage(tiff)).rejects.toThrow(UnsupportedMediaTypeError);
    await expect(decodeImage(tiff)).rejects.toThrow(/TIFF images are not supported.*JPEG, PNG, WebP, GIF, BMP and AVIF/);
  });

  it('rejects garbage and empty input as invalid images', async () => {
    await expect(decodeImage(new Uint8Array(0))).rejects.toThrow(InvalidImageError);
    await expect(decodeImage(new TextEncoder().encode('hello, world'))).rejects.toThrow(InvalidImageError);
  });
});
