/**
 * GET /healthz: liveness. Cheap on purpose (never loads the model: a model in R2 costs one read of
 * its small manifest per isolate); names the model label sets must match, where it comes from, what
 * runs it and, once it is loaded, the encoder's WASM memory as the isolate sees it.
 */
import { Hono } from 'hono';
import type { HealthBody } from '../../core/contract/api.ts';
import { imageDecoderMemoryBytes } from '../../core/image/decode.ts';
import type { Env } from '../env.ts';
import type { ServedModel } from '../vision/served-model.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

export interface HealthDeps {
  /** The model this isolate serves (app.ts chose it from the env before any route runs). */
  readonly model: () => ServedModel;
}

export function healthRoutes(deps: HealthDeps) {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/healthz', async (c) => {
    const model = deps.model();
    // An R2 model whose manifest is missing or corrupted answers 503 here too: the worker cannot classify.
    const d = await model.describe();
    const timings = model.loadTimings;
    const status = model.encoderStatus;
    return c.json({
      ok: true as const,
      status: 'ok' as const,
      model: d.id,
      model_sha256: d.sha256,
      model_source: d.source,
      engine: d.engine,
      model_loaded: model.loaded,
      ...(timings ? { model_load_ms: timings } : {}),
      // Measured now, inside this isolate (WASM memory only grows: this is also its peak so far).
      ...(status ? { engine_relaxed_simd: status.relaxedSimd, wasm_memory_bytes: status.wasmMemoryBytes, image_decoder_wasm_bytes: imageDecoderMemoryBytes() } : {}),
    } satisfies HealthBody);
  });
  app.all('/healthz', methodNotAllowed('GET', 'HEAD'));
  return app;
}
