/** Query-parameter parsing for the classify route: strict, with messages that say what is allowed. */
import { DEFAULT_TOP_K, MAX_TOP_K } from '../../core/contract/api.ts';
import { DEFAULT_LABEL_SET, LABEL_SET_NAME, LABEL_SET_NAME_RULE } from '../../core/contract/ids.ts';
import { InvalidArgumentError } from '../../core/errors.ts';
import { EXIF_MODES, type ExifMode } from '../../core/image/exif-orientation.ts';

/** `top_k`: an integer in 1..MAX_TOP_K (default 5). Larger than the label count returns every label. */
export function parseTopK(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TOP_K;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_TOP_K)) {
    throw new InvalidArgumentError(`top_k must be an integer from 1 to ${MAX_TOP_K}, got ${JSON.stringify(raw)}.`);
  }
  return n;
}

/** `labelset`: the name of one of the tenant's label sets (default "default"). */
export function parseLabelSetName(raw: string | undefined): string {
  if (raw === undefined) return DEFAULT_LABEL_SET;
  if (!LABEL_SET_NAME.test(raw)) {
    throw new InvalidArgumentError(`labelset must be ${LABEL_SET_NAME_RULE}.`);
  }
  return raw;
}

/** `exif`: `apply` (default) shows the photo as a person sees it; `ignore` keeps the stored pixels (HF/Transformers.js parity). */
export function parseExifMode(raw: string | undefined): ExifMode {
  if (raw === undefined) return 'apply';
  if (!(EXIF_MODES as readonly string[]).includes(raw)) {
    throw new InvalidArgumentError(`exif must be "apply" (default: rotate the image as its EXIF orientation says) or "ignore" (use the pixels as stored), got ${JSON.stringify(raw)}.`);
  }
  return raw as ExifMode;
}
