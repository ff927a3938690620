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
    for (const c of jpeg.cases) expect(readImageHeader(fromBase64(c.jpeg)), c.name).toMatchObject({ format: 'jpeg', width: c.width, height: c.height });
    for (const c of png.cases) expect(readImageHeader(fromBase64(c.png)), c.name).toMatchObject({ format: 'png', width: c.width, height: c.height });
  });

  it('walks JPEG segments to the first SOFn (baseline, progressive, arithmetic), skipping DHT and fill bytes', () => {
    expect(readImageHeader(jpegHeader(0xc0, 30000, 20000))).toMatchObject({ format: 'jpeg', width: 30000, height: 20000 });
    expect(readImageHeader(jpegHeader(0xc2, 640, 480))).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
    expect(readImageHeader(jpegHeader(0xc9, 7, 5))).toMatchObject({ format: 'jpeg', width: 7, height: 5 });
  });

  it('reads only the header: a tiny PNG claiming 30000x30000 is reported as such', () => {
    const ihdr = bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR', [0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30, 8, 2, 0, 0, 0]);
    expect(readImageHeader(ihdr)).toMatchObject({ format: 'png', width: 30000, height: 30000 });
  });

  it('names other image formats and lists what is supported', () => {
    const cases: [string, Uint8Array][] = [
      ['TIFF', bytes('II*\0', [8, 0, 0, 0])],
      ['HEIC/HEIF', bytes([0, 0, 0, 24], 'ftypheic', [0, 0, 0, 0])],
      ['HEIC/HEIF', bytes([0, 0, 0, 24], 'ftypmif1', [0, 0, 0, 0], 'heic')],
      ['ICO', bytes([0, 0, 1, 0, 1, 0])],
      ['JPEG XL', bytes([0xff, 0x0a, 0, 0])],
    ];
    for (const [name, b] of cases) {
      expect(() => readImageHeader(b), name).toThrow(UnsupportedMediaTypeError);
      expect(() => readImageHeader(b), name).toThrow(new RegExp(`^${name} images are not supported\\. Supported formats: JPEG, PNG, WebP, GIF, BMP and AVIF`));
    }
  });

  it('reads GIF, WebP (VP8, VP8L, VP8X), BMP and AVIF sizes from their headers alone', () => {
    const le16 = (v: number) => [v & 0xff, v >> 8];
    const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
    // GIF: screen 30000x20000, then a frame descriptor at (0,0) of 1x1 (the data need not be there).
    expect(readImageHeader(bytes('GIF89a', le16(30000), le16(20000), [0, 0, 0], ',', le16(0), le16(0), le16(1), le16(1), [0, 2]))).toMatchObject({ format: 'gif', width: 30000, height: 20000 });
    // A first frame reaching past a 1x1 screen grows the canvas (Pillow does the same).
    expect(readImageHeader(bytes('GIF87a', le16(1), le16(1), [0, 0, 0], ',', le16(100), le16(50), le16(20), le16(10), [0, 2]))).toMatchObject({ format: 'gif', width: 120, height: 60 });
    const riff = (chunk: string, payload: number[]) => bytes('RIFF', le32(4 + 8 + payload.length), 'WEBP', chunk, le32(payload.length), payload);
    expect(readImageHeader(riff('VP8 ', [0x10, 0, 0, 0x9d, 0x01, 0x2a, ...le16(16383), ...le16(9000), 0, 0]))).toMatchObject({ format: 'webp', width: 16383, height: 9000 });
    const vp8l = (w: number, h: number) => le32((w - 1) | ((h - 1) << 14));
    expect(readImageHeader(riff('VP8L', [0x2f, ...vp8l(640, 480), 0, 0, 0, 0, 0]))).toMatchObject({ format: 'webp', width: 640, height: 480 });
    expect(readImageHeader(riff('VP8X', [0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0]))).toMatchObject({ format: 'webp', width: 16777216, height: 16 });
    const bmp = (w: number, h: number) => bytes('BM', le32(0), le32(0), le32(54), le32(40), le32(w), le32(h), le16(1), le16(24), le32(0));
    expect(readImageHeader(bmp(40000, 30000))).toMatchObject({ format: 'bmp', width: 40000, height: 30000 });
    expect(readImageHeader(bmp(7, -5 >>> 0))).toMatchObject({ format: 'bmp', width: 7, height: 5 });
    const be32 = (v: number) => [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
    const box = (type: string, ...payload: number[][]): number[] => {
      const body = payload.flat();
      return [...be32(8 + body.length), ...Array.from(type, (c) => c.charCodeAt(0)), ...body];
    };
    const ispe = (w: number, h: number) => box('ispe', [0, 0, 0, 0], be32(w), be32(h));
    // Primary item 2 is associated with the second ispe (50000x40000); item 1's small thumbnail extent must not win.
    const avif = new Uint8Array([
      ...box('ftyp', Array.from('avif', (c) => c.charCodeAt(0)), [0, 0, 0, 0], Array.from('mif1', (c) => c.charCodeAt(0))),
      ...box('meta', [0, 0, 0, 0],
        box('pitm', [0, 0, 0, 0], [0, 2]),
        box('iprp', box('ipco', ispe(64, 48), ispe(50000, 40000)), box('ipma', [0, 0, 0, 0], be32(2), [0, 1, 1, 0x81], [0, 2, 1, 0x82]))),
    ]);
    expect(readImageHeader(avif)).toMatchObject({ format: 'avif', width: 50000, height: 40000 });
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
      ['GIF screen only', bytes('GIF89a', [1, 0, 1, 0, 0, 0, 0])],
      ['GIF without a frame', bytes('GIF89a', [1, 0, 1, 0, 0, 0, 0], ';')],
      ['WebP header only', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
      ['WebP unknown chunk', bytes('RIFF', [0, 0, 0, 0], 'WEBPABCD', new Array(20).fill(0))],
      ['BMP header only', bytes('BM', [0, 0, 0, 0])],
      ['AVIF ftyp only', bytes([0, 0, 0, 16], 'ftypavif', [0, 0, 0, 0])],
      ['AVIF box past the end', bytes([0, 0, 0, 16], 'ftypavif', [0, 0, 0, 0], [0, 0, 1, 0], 'meta')],
    ];
    for (const [name, b] of bad) expect(() => readImageHeader(b), name).toThrow(InvalidImageError);
  });
});
