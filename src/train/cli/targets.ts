/** Target options shared by the commands that talk to a worker. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.ts';
import { AdminClient } from '../publish/admin-client.ts';
import { ADMIN_TOKEN_ENV, localPort, parseDevVars, resolveTarget, type Target } from '../publish/target.ts';
import { REPO_ROOT } from './common.ts';

export const TARGET_OPTION_HELP = `"local" (the \`npm start\` worker on 127.0.0.1, port $PORT, else the last \`npm start\`'s, else 8787; admin token from .dev.vars) or a deployed worker URL (https://...; admin token from $${ADMIN_TOKEN_ENV})`;

export function adminClientFor(target: string): AdminClient {
  return new AdminClient(resolveTarget(target, { repoRoot: REPO_ROOT, env: process.env }));
}

/** A new key, said once and loudly: the server keeps only its hash. */
export function keyNotice(tenant: string, key: string, what: 'created' | 'rotated'): string {
  return [
    what === 'created' ? `created tenant ${tenant}` : `new key for tenant ${tenant} (its previous keys no longer work)`,
    `  API key: ${key}`,
    '  Store it now: it is shown only this once (the worker keeps only its SHA-256).',
  ].join('\n');
}

/** A worker to classify through with a tenant key (no admin token needed): `check-live`. */
export function classifyTarget(target: string): Target {
  if (target === 'local') {
    const path = join(REPO_ROOT, '.dev.vars');
    const devVars = existsSync(path) ? parseDevVars(readFileSync(path, 'utf8')) : {};
    const { port, from } = localPort(REPO_ROOT, process.env);
    return { baseUrl: `http://127.0.0.1:${port}`, adminToken: '', local: true, devVars, portFrom: from };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new InvalidArgumentError(`--target must be "local" or a worker URL, got "${target}".`);
  }
  return { baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, adminToken: '', local: false, devVars: {} };
}
