/** Small test images made in-test: a PNG encoded with fast-png, a 16x12 JPEG (Pillow, quality 90) as bytes. */
import { encode } from 'fast-png';

/** width x height RGB PNG with a smooth colour pattern. */
export function makePng(width = 40, height = 30): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / Math.max(1, width - 1);
      data[i + 1] = (y * 255) / Math.max(1, height - 1);
      data[i + 2] = ((x + y) * 7) % 256;
    }
  }
  return new Uint8Array(encode({ width, height, data, channels: 3, depth: 8 }));
}

/** A PNG signature plus an IHDR that declares width x height, and nothing else: a "bomb" header. */
export function pngHeaderOnly(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8 + 8 + 13 + 4);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  const v = new DataView(b.buffer);
  v.setUint32(8, 13);
  b.set([0x49, 0x48, 0x44, 0x52], 12); // "IHDR"
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([8, 2, 0, 0, 0], 24); // 8-bit RGB, no interlace
  return b;
}

const TINY_JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAMABADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD5o8LfBT7n7j9K9g8LfBT7n+j/AKV7n4W8Kab8n7mvYPC3hTTfk/c0834vxGu54Xh3x5ivc3P/2Q==';

/** A 16x12 baseline JPEG. */
export function tinyJpeg(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(TINY_JPEG_BASE64), (c) => c.charCodeAt(0));
}

/** The images whose end-to-end embeddings are pinned in fixtures/embedding-parity.json. */
export const PARITY_IMAGES: Readonly<Record<string, () => Uint8Array<ArrayBuffer>>> = {
  'png-40x30': () => makePng(40, 30),
  'png-97x64': () => makePng(97, 64),
  'jpeg-16x12': tinyJpeg,
};
