/**
 * Streams an edge-vit weight file into WebAssembly memory: the caller hands over the file's bytes
 * in chunks of any size (an R2 body, a file read piece by piece, bundled bytes); each chunk of the
 * data section is copied straight to its place in memory, so the file is never held twice. Memory
 * is grown once, to weights + scratch, as soon as the header is read.
 */
import { EdgeVitWeightsError } from './errors.ts';
import { EdgeVitRuntime, scratchLayout, type EdgeVitEngine, type ScratchLayout } from './engine.ts';
import { checkEdgeVitHeader, dataStart, EDGE_VIT_ALIGN, EDGE_VIT_MAGIC, MAX_HEADER_BYTES, roundUp, type EdgeVitHeader } from './format.ts';
import { growTo, instantiateKernels, type EdgeVitKernels, type EdgeVitModules, type GemmTile } from './kernels.ts';

export interface EdgeVitLoader {
  /** The next bytes of the file. Throws EdgeVitWeightsError on a malformed header or bytes past the end. */
  write(chunk: Uint8Array): void;
  /** After the last chunk: checks the file was complete and returns the engine. */
  finish(): EdgeVitEngine;
  /** Bytes received so far. */
  readonly bytesReceived: number;
  /** Total file size, once the header has been read. */
  readonly bytesExpected: number | undefined;
}

export interface EdgeVitLoaderOptions {
  /** Run the plain-SIMD module even when the relaxed one is given (benchmarks, tests). */
  readonly plainSimd?: boolean;
  readonly tile?: GemmTile;
}

const what = 'edge-vit weight file';

export function createEdgeVitLoader(modules: EdgeVitModules, options: EdgeVitLoaderOptions = {}): EdgeVitLoader {
  const module = !options.plainSimd && modules.relaxed ? modules.relaxed : modules.simd;
  const kernels: EdgeVitKernels = instantiateKernels(module, options.tile);
  const prefix = new Uint8Array(12);
  let headerBytes: Uint8Array | undefined;
  let header: EdgeVitHeader | undefined;
  let pos = 0; // bytes of the file received
  let start = 0; // file offset of the data section
  let fileEnd = 0;
  let weightsBase = 0;
  let scratch: ScratchLayout | undefined;
  let finished = false;

  const readHeader = (json: Uint8Array) => {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
    } catch (cause) {
      throw new EdgeVitWeightsError(`${what}: the header is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}). The file is corrupt; export it again.`, { cause });
    }
    header = checkEdgeVitHeader(raw);
    start = dataStart(json.byteLength);
    fileEnd = start + header.dataBytes;
    weightsBase = roundUp(kernels.heapBase(), EDGE_VIT_ALIGN);
    scratch = scratchLayout(header.config, weightsBase + header.dataBytes);
    growTo(kernels.memory, scratch.end); // once: weights + scratch
  };

  return {
    get bytesReceived() {
      return pos;
    },
    get bytesExpected() {
      return header ? fileEnd : undefined;
    },
    write(chunk: Uint8Array) {
      if (finished) throw new EdgeVitWeightsError(`${what}: write() after finish().`);
      let i = 0;
      while (i < chunk.byteLength) {
        if (pos < 12) {
          const n = Math.min(12 - pos, chunk.byteLength - i);
          prefix.set(chunk.subarray(i, i + n), pos);
          pos += n;
          i += n;
          if (pos === 12) {
            if (!EDGE_VIT_MAGIC.every((b, j) => prefix[j] === b)) throw new EdgeVitWeightsError(`${what}: bad magic (expected "EDGE-VIT"): this is not an edge-vit weight file. Export one with: prompt-edge export-vision --precision int8 --engine edge-vit.`);
            const len = new DataView(prefix.buffer).getUint32(8, true);
            if (len < 2 || len > MAX_HEADER_BYTES) throw new EdgeVitWeightsError(`${what}: header length ${len} is out of range (2..${MAX_HEADER_BYTES}). The file is corrupt.`);
            headerBytes = new Uint8Array(len);
          }
        } else if (!header) {
          const hb = headerBytes!;
          const n = Math.min(12 + hb.byteLength - pos, chunk.byteLength - i);
          hb.set(chunk.subarray(i, i + n), pos - 12);
          pos += n;
          i += n;
          if (pos === 12 + hb.byteLength) {
            readHeader(hb);
            headerBytes = undefined;
          }
        } else if (pos < start) {
          const n = Math.min(start - pos, chunk.byteLength - i);
          pos += n;
          i += n;
        } else {
          const n = chunk.byteLength - i;
          if (pos + n > fileEnd) throw new EdgeVitWeightsError(`${what}: more bytes than its header declares (${fileEnd}). The file is corrupt or two files were concatenated.`);
          new Uint8Array(kernels.memory.buffer, weightsBase + (pos - start), n).set(chunk.subarray(i));
          pos += n;
          i += n;
        }
      }
    },
    finish(): EdgeVitEngine {
      if (finished) throw new EdgeVitWeightsError(`${what}: finish() called twice.`);
      if (!header || !scratch || pos < fileEnd) {
        const expected = header ? `${fileEnd} bytes` : 'at least a complete header';
        throw new EdgeVitWeightsError(`${what} is truncated: got ${pos} bytes, expected ${expected}. Download or copy it again (its sha256 should match the manifest).`);
      }
      finished = true;
      growTo(kernels.memory, scratch.end);
      return new EdgeVitRuntime(kernels, header, weightsBase, scratch);
    },
  };
}
