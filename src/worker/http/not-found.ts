/**
 * The 404s of a tenant or label set that does not exist, said the same way by the stores, the
 * label-set registry and the routes.
 */
import { HttpError } from './errors.ts';

export function tenantNotFound(tenant: string): HttpError {
  return new HttpError('tenant_not_found', `Tenant "${tenant}" does not exist. Create it with POST /v1/admin/tenants (npx prompt-edge tenant create ${tenant}).`);
}

/** The same answer whether or not another tenant has a label set by that name. */
export function labelSetNotFound(tenant: string, name: string): HttpError {
  return new HttpError('labelset_not_found', `Label set "${name}" does not exist for tenant "${tenant}". GET /v1/labelsets lists the tenant's label sets.`);
}
