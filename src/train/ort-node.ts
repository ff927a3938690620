/**
 * onnxruntime-node session options shared by the image and text towers: the device choice and a
 * clear error when CUDA was asked for but its execution provider is not installed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../core/errors.ts';

export type Device = 'cpu' | 'cuda';

export interface SessionConfig {
  device?: Device;
  /** Threads for one operator; default: onnxruntime's choice (all cores). */
  intraOpThreads?: number;
}

export function sessionOptions(cfg: SessionConfig = {}): ort.InferenceSession.SessionOptions {
  const device = cfg.device ?? 'cpu';
  return {
    executionProviders: device === 'cuda' ? ['cuda'] : ['cpu'],
    graphOptimizationLevel: 'all',
    ...(cfg.intraOpThreads ? { intraOpNumThreads: cfg.intraOpThreads } : {}),
  };
}

const CUDA_HELP =
  'The CUDA execution provider of onnxruntime-node is not installed (it is skipped by default because its ' +
  'install step downloads CUDA libraries). On a machine with an NVIDIA GPU and CUDA 12 run: ' +
  'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install  — or use --device cpu.';

/** Whether onnxruntime-node's CUDA provider library was installed next to its binding. */
export function cudaProviderInstalled(): boolean {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}

/** Fails early, before a large graph is built, when --device cuda cannot work. */
export function assertDeviceAvailable(device: Device | undefined): void {
  if (device === 'cuda' && !cudaProviderInstalled()) throw new InvalidArgumentError(`--device cuda: ${CUDA_HELP}`);
}

/** Creates a session, turning onnxruntime's opaque "cuda backend not found" into an actionable error. */
export async function createSession(model: string | Uint8Array, cfg: SessionConfig = {}): Promise<ort.InferenceSession> {
  assertDeviceAvailable(cfg.device);
  const opts = sessionOptions(cfg);
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
  } catch (cause) {
    if ((cfg.device ?? 'cpu') === 'cuda') throw new InvalidArgumentError(`--device cuda: ${CUDA_HELP}`, { cause });
    throw cause;
  }
}
