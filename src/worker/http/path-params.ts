/** Tenant ids and label-set names taken from admin URLs and bodies: strict, with the allowed form in the message. */
import { InvalidArgumentError } from '../../core/errors.ts';
import { LABEL_SET_NAME, TENANT_ID } from '../store/keys.ts';

export function parseTenantId(raw: unknown): string {
  if (typeof raw !== 'string' || !TENANT_ID.test(raw)) {
    throw new InvalidArgumentError(`tenant must be 1-63 characters of lower-case letters, digits, "_" or "-", starting with a letter or digit; got ${JSON.stringify(raw ?? null)}.`);
  }
  return raw;
}

export function parseLabelSetPathName(raw: string): string {
  if (!LABEL_SET_NAME.test(raw)) {
    throw new InvalidArgumentError('The label set name must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit.');
  }
  return raw;
}
