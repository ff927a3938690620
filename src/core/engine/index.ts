/** The edge-vit engine's public surface (docs/edge-vit-format.md). */
export { createEdgeVitLoader, type EdgeVitLoader, type EdgeVitLoaderOptions } from './loader.ts';
export type { EdgeVitEngine } from './engine.ts';
export type { EdgeVitPreprocessor } from './preprocess.ts';
export type { EdgeVitModules, GemmTile } from './kernels.ts';
export { EdgeVitWeightsError } from './errors.ts';
export { EDGE_VIT_ENGINE, EDGE_VIT_FILE, EDGE_VIT_FORMAT, type EdgeVitConfig } from './format.ts';
