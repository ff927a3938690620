/** Tenant ids and label-set names taken from admin URLs and bodies: strict, with the allowed form in the message. */
import { LABEL_SET_NAME, LABEL_SET_NAME_RULE, TENANT_ID, TENANT_ID_RULE } from '../../core/contract/ids.ts';
import { InvalidArgumentError } from '../../core/errors.ts';

export function parseTenantId(raw: unknown): string {
  if (typeof raw !== 'string' || !TENANT_ID.test(raw)) {
    throw new InvalidArgumentError(`tenant must be ${TENANT_ID_RULE}; got ${JSON.stringify(raw ?? null)}.`);
  }
  return raw;
}

export function parseLabelSetPathName(raw: string): string {
  if (!LABEL_SET_NAME.test(raw)) {
    throw new InvalidArgumentError(`The label set name must be ${LABEL_SET_NAME_RULE}.`);
  }
  return raw;
}
