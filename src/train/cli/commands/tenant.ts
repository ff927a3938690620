/** `tenant create|rotate-key|list`: manage tenants through the worker's admin API. */
import type { Command } from 'commander';
import { AdminClient } from '../../publish/admin-client.ts';
import { ADMIN_TOKEN_ENV, resolveTarget } from '../../publish/target.ts';
import { REPO_ROOT } from '../common.ts';
import { emit } from '../output.ts';

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

interface TargetFlags { target: string; json?: boolean }

export function registerTenantCommands(program: Command): Command {
  const tenant = program
    .command('tenant')
    .description('Manage tenants (each has its own API keys and label sets) through the worker\'s admin API.')
    .addHelpText('after', `\nTargets:\n  --target local        ${'the `npm start` worker; the admin token is ADMIN_TOKEN in .dev.vars'}\n  --target https://...  a deployed worker; export ${ADMIN_TOKEN_ENV}=<its ADMIN_TOKEN secret>`);

  tenant
    .command('create')
    .description('Create a tenant and print its first API key (shown once).')
    .argument('<name>', 'tenant id: 1-63 of a-z, 0-9, "_" or "-", starting with a letter or digit')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant": NAME, "key": KEY} and nothing else on stdout')
    .addHelpText('after', '\nExample:\n  npx prompt-edge tenant create acme --json')
    .action(async (name: string, f: TargetFlags) => {
      const r = await adminClientFor(f.target).createTenant(name);
      emit(f, { tenant: r.tenant, key: r.key }, () => keyNotice(r.tenant, r.key, 'created'));
    });

  tenant
    .command('rotate-key')
    .description('Issue a new API key for a tenant; its previous keys stop working.')
    .argument('<name>', 'tenant id')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant": NAME, "key": KEY} and nothing else on stdout')
    .action(async (name: string, f: TargetFlags) => {
      const r = await adminClientFor(f.target).rotateKey(name);
      emit(f, { tenant: r.tenant, key: r.key }, () => keyNotice(r.tenant, r.key, 'rotated'));
    });

  tenant
    .command('list')
    .description('List tenants with their label sets.')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenants": [{"tenant", "created_at", "labelsets"}]} and nothing else on stdout')
    .action(async (f: TargetFlags) => {
      const r = await adminClientFor(f.target).listTenants();
      emit(f, r, () => r.tenants.length === 0
        ? 'no tenants'
        : r.tenants.map((t) => `${t.tenant.padEnd(24)} ${(t.created_at ?? '').padEnd(24)} ${t.labelsets.length ? t.labelsets.join(', ') : '(no label sets)'}`).join('\n'));
    });
  return tenant;
}
