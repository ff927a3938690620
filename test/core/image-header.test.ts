import { describe, expect, it } from 'vitest';
import { InvalidImageError, UnsupportedMediaTypeError } from '../../src/core/errors.ts';
import { readImageHeader } from '../../src/core/image/image-header.ts';
import { fromBase64, loadFixture } from './image-test-utils.ts';

const jpeg = loadFixture<{ cases: { name: string; jpeg: string; width: number; height: number }[] }>('jpeg.json');
const png = loadFixture<{ cases: { name: string; png: string; width: number; height: number }[] }>('png.json');

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (ch) => ch.charCodeAt(0)) : p)));
const u16 = (v: number) => [v >> 8, v & 0xff];

/** SOI, an APP0 segment, fill bytes, a DHT (0xC4, not a frame header), then the given SOF marker. */
function jpegHeader(sof: number, width: number, height: number, components = 3): Uint8Array {
  return bytes(
    [0xff, 0xd8],
    [0xff, 0xe0], u16(16), 'JFIF\0', [1, 1, 0, 0, 1, 0, 1, 0, 0],
    [0xff, 0xff, 0xff, 0xc4], u16(5), [0, 1, 2],
    [0xff, sof], u16(8 + 3 * components), [8], u16(height), u16(width), [components],
  );
}

describe('readImageHeader', () => {
  it('reads the size of every JPEG and PNG fixture', () => {
    for (const c of jpeg.cases) expect(readImageHeader(fromBase64(c.jpeg)), c.name).toEqual({ format: 'jpeg', width: c.width, height: c.height });
    for (const c of png.cases) expect(readImageHeader(fromBase64(c.png)), c.name).toEqual({ format: 'png', width: c.width, height: c.height });
  });

  it('walks JPEG segments to the first SOFn (baseline, progressive, arithmetic), skipping DHT and fill bytes', () => {
    expect(readImageHeader(jpegHeader(0xc0, 30000, 20000))).toEqual({ format: 'jpeg', width: 30000, height: 20000 });
    expect(readImageHeader(jpegHeader(0xc2, 640, 480))).toEqual({ format: 'jpeg', width: 640, height: 480 });
    expect(readImageHeader(jpegHeader(0xc9, 7, 5))).toEqual({ format: 'jpeg', width: 7, height: 5 });
  });

  it('reads only the header: a tiny PNG claiming 30000x30000 is reported as such', () => {
    const ihdr = bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR', [0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0]);
    expect(readImageHeader(ihdr)).toEqual({ format: 'png', width: 30000, height: 30000 });
  });

  it('names other image formats and lists what is supported', () => {
    const cases: [string, Uint8Array][] = [
      ['GIF', bytes('GIF89a', [1, 0, 1, 0])],
      ['WebP', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
      ['BMP', bytes('BM', [0, 0, 0, 0])],
      ['TIFF', bytes('II*\0', [8, 0, 0, 0])],
      ['HEIC/HEIF', bytes([0, 0, 0, 24], 'ftypheic', [0, 0, 0, 0])],
      ['AVIF', bytes([0, 0, 0, 24], 'ftypavif', [0, 0, 0, 0])],
    ];
    for (const [name, b] of cases) {
      expect(() => readImageHeader(b), name).toThrow(UnsupportedMediaTypeError);
      expect(() => readImageHeader(b), name).toThrow(new RegExp(`^${name} images are not supported\\. Supported formats: JPEG and PNG`));
    }
  });

  it('rejects garbage and truncated headers as invalid images', () => {
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['text', bytes('not an image at all')],
      ['SOI only', bytes([0xff, 0xd8, 0xff])],
      ['cut in APP0', jpegHeader(0xc0, 10, 10).subarray(0, 12)],
      ['cut in SOF', jpegHeader(0xc0, 10, 10).subarray(0, 31)],
      ['scan before frame', bytes([0xff, 0xd8, 0xff, 0xda], u16(2))],
      ['zero height (DNL)', jpegHeader(0xc0, 10, 0)],
      ['not a marker', bytes([0xff, 0xd8, 0x12, 0x34, 0, 0])],
      ['PNG signature only', bytes([0x89], 'PNG\r\n\x1a\n')],
      ['PNG without IHDR first', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IDAT', new Array(17).fill(0))],
      ['PNG 0 width', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR', [0, 0, 0, 0, 0, 0, 0, 1, 8, 2, 0, 0, 0])],
    ];
    for (const [name, b] of bad) expect(() => readImageHeader(b), name).toThrow(InvalidImageError);
  });
});
