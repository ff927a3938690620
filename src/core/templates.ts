/**
 * Prompt templates. "{}" is replaced by the class name.
 *
 * CLIP_SINGLE_TEMPLATE is CLIP's own default prompt. DEFAULT_ENSEMBLE_TEMPLATES is prompt-edge's
 * built-in ensemble, written for this project: varied photo conditions and framings in the spirit
 * of CLIP's prompt engineering (the published lists are in ../shared/reference for benchmarks).
 */
import { InvalidArgumentError } from './errors.ts';

export const CLIP_SINGLE_TEMPLATE = 'a photo of a {}.';

export const DEFAULT_ENSEMBLE_TEMPLATES: readonly string[] = [
  'a photo of a {}.',
  'a photo of the {}.',
  'a blurry photo of a {}.',
  'a low resolution photo of a {}.',
  'a close-up photo of a {}.',
  'a bright photo of a {}.',
  'a dark photo of a {}.',
  'a cropped photo of a {}.',
  'a small photo of a {}.',
  'a good photo of a {}.',
  'an image of a {}.',
  'a picture of a {}.',
  'a snapshot of a {}.',
  'a drawing of a {}.',
  'a sketch of a {}.',
  '{}',
];

export function fillTemplate(template: string, label: string): string {
  if (!template.includes('{}')) throw new InvalidArgumentError(`template ${JSON.stringify(template)} has no "{}" placeholder for the class name.`);
  return template.split('{}').join(label);
}
