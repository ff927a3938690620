/**
 * Every storage key the worker uses, in one place (docs/storage.md). Tenant ids and label-set names
 * are validated (core/contract/ids.ts) before they get here and contain neither "/" nor ":", so no key can collide with
 * another tenant's.
 */
import type { ModelFileName } from '../../core/model-files.ts';

export const r2Keys = {
  /** The immutable artifact of one version. */
  artifact: (tenant: string, name: string, version: string) => `labelsets/${tenant}/${name}/${version}.safetensors`,
  artifactPrefix: (tenant: string, name: string) => `labelsets/${tenant}/${name}/`,
  /** The authoritative tenant record (JSON, updated by etag compare-and-swap). */
  tenant: (tenant: string) => `registry/tenants/${tenant}.json`,
  tenantPrefix: 'registry/tenants/',
  /** The authoritative label-set record: current version, history, next version number. */
  labelSet: (tenant: string, name: string) => `registry/labelsets/${tenant}/${name}.json`,
  labelSetPrefix: (tenant: string) => `registry/labelsets/${tenant}/`,
  /** One file of a vision model (src/core/model-files.ts), keyed by the sha256 of its vision_model.onnx. */
  modelFile: (sha256: string, file: ModelFileName) => `models/${sha256}/${file}`,
  /** The model's manifest: written last, so a model with a manifest is complete. */
  modelManifest: (sha256: string) => `models/${sha256}/manifest.json`,
  modelPrefix: 'models/',
} as const;

export const kvKeys = {
  /** sha256(api key) -> the key's tenant: the one read that authenticates a request. */
  keyHash: (sha256: string) => `keyhash:${sha256}`,
  /** Mirror of the tenant record. */
  tenant: (tenant: string) => `tenant:${tenant}`,
  /** Mirror of a live label-set record (absent once deleted). */
  labelSet: (tenant: string, name: string) => `labelset:${tenant}:${name}`,
  labelSetPrefix: (tenant: string) => `labelset:${tenant}:`,
} as const;

/** The version number of an artifact key, or null when the key is not one. */
export function versionOfArtifactKey(key: string): number | null {
  const m = /\/(\d+)\.safetensors$/.exec(key);
  return m ? Number(m[1]) : null;
}
