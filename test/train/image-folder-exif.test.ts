/** The CLI's image loading applies EXIF orientation by default, as the API does, and --exif ignore keeps the stored pixels. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { parseExifOption } from '../../src/train/cli/common.ts';
import { loadImages, scanImageFolder } from '../../src/train/data/image-folder.ts';
import { fromBase64, loadFixture } from '../core/image-test-utils.ts';

const exif = loadFixture<{ exif: { name: string; file: string; orientation: number }[] }>('formats.json').exif;
const root = mkdtempSync(join(tmpdir(), 'pe-exif-'));

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('image folder loading and EXIF orientation', () => {
  it('applies the orientation by default and keeps stored pixels with exif: ignore; the orientation is part of the cache identity', async () => {
    const rotated = exif.find((c) => c.orientation === 6) as { file: string };
    const plain = exif.find((c) => c.orientation === 1) as { file: string };
    for (const [label, b64] of [['a', rotated.file], ['b', plain.file]] as const) {
      mkdirSync(join(root, label));
      writeFileSync(join(root, label, 'x.jpg'), fromBase64(b64));
    }
    const folder = scanImageFolder(root);
    const applied = await loadImages(folder.items);
    expect(applied.map((l) => [l.image.width, l.image.height, l.orientation])).toEqual([[7, 11, 6], [11, 7, 1]]);
    const stored = await loadImages(folder.items, { exif: 'ignore' });
    expect(stored.map((l) => [l.image.width, l.image.height, l.orientation])).toEqual([[11, 7, 1], [11, 7, 1]]);
  });

  it('--exif accepts apply and ignore only', () => {
    expect(parseExifOption('apply')).toBe('apply');
    expect(parseExifOption('ignore')).toBe('ignore');
    expect(() => parseExifOption('rotate')).toThrow(InvalidArgumentError);
  });
});
