/** Label-set artifacts and prompt-template files on disk, with errors that name the file. */
import { existsSync, readFileSync } from 'node:fs';
import { ArtifactError, InvalidArgumentError } from '../core/errors.ts';
import { decodeLabelSet, type LabelSetArtifact } from '../core/labelset/artifact.ts';
import { fillTemplate } from '../core/templates.ts';
import type { ClipCheckpoint } from './checkpoint.ts';

/** Reads and validates a label set; with `ckpt`, also checks it was built for that model. */
export function readLabelSetFile(path: string, ckpt?: ClipCheckpoint): LabelSetArtifact {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new ArtifactError(`cannot read label set ${path}: ${(cause as Error).message}`, { cause });
  }
  return decodeLabelSet(bytes, { source: path, ...(ckpt ? { dim: ckpt.config.projection_dim, modelSha256: ckpt.served.sha256 } : {}) });
}

/** A templates file: a JSON array of strings, or one template per line (# comments allowed). */
export function readTemplatesFile(path: string): string[] {
  if (!existsSync(path)) throw new InvalidArgumentError(`templates file not found: ${path}`);
  const text = readFileSync(path, 'utf8');
  let templates: string[];
  if (text.trimStart().startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) throw new InvalidArgumentError(`${path}: expected a JSON array of strings.`);
    templates = parsed;
  } else {
    templates = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  }
  if (templates.length === 0) throw new InvalidArgumentError(`${path} has no templates.`);
  for (const t of templates) fillTemplate(t, 'x'); // validates the placeholder
  return templates;
}
