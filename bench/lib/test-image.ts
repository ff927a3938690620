/**
 * The bench's test photo: a deterministic 640x480 JPEG (smooth gradients, a few hard-edged shapes
 * and fine noise, so that decoding and resizing do real work), encoded with MozJPEG at quality 85.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { init as initJpegEncoder, default as encodeJpeg } from '@jsquash/jpeg/encode.js';

export async function makeTestJpeg(width = 640, height = 480): Promise<Uint8Array<ArrayBuffer>> {
  const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm');
  await initJpegEncoder(await WebAssembly.compile(await readFile(wasmPath)));
  const rgba = new Uint8ClampedArray(width * height * 4);
  let s = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const noise = (s >>> 24) / 16 - 8;
      const inCircle = (x - 420) ** 2 + (y - 200) ** 2 < 110 ** 2;
      const inBox = x > 80 && x < 260 && y > 260 && y < 420;
      const i = (y * width + x) * 4;
      rgba[i] = (inCircle ? 220 : inBox ? 40 : (x / width) * 200 + 30) + noise;
      rgba[i + 1] = (inCircle ? 60 : inBox ? 140 : (y / height) * 180 + 40) + noise;
      rgba[i + 2] = (inCircle ? 50 : inBox ? 200 : 120 + 60 * Math.sin(x / 40) * Math.cos(y / 30)) + noise;
      rgba[i + 3] = 255;
    }
  }
  const buf = await encodeJpeg({ data: rgba, width, height, colorSpace: 'srgb' } as ImageData, { quality: 85 });
  return new Uint8Array(buf);
}
