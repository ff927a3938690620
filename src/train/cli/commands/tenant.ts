/** `tenant create|rotate-key|list`: manage tenants through the worker's admin API. */
import type { Command } from 'commander';
import { ADMIN_TOKEN_ENV } from '../../publish/target.ts';
import { emit } from '../output.ts';
import { adminClientFor, keyNotice, TARGET_OPTION_HELP } from '../targets.ts';

interface TargetFlags { target: string; json?: boolean }

/**
 * What to do after `tenant create`: a new tenant has no label set, so its classify answers 404
 * until one is published (as "default", the name classify uses without ?labelset=).
 */
export function nextStepsAfterCreate(tenant: string, target: string): string {
  const t = target === 'local' ? '' : ` --target ${target}`;
  return [
    '',
    `Next: ${tenant} has no label set yet, so /v1/classify answers 404 labelset_not_found until you publish one.`,
    'Publish one named "default" (what classify uses without ?labelset=), from class names:',
    `  npx prompt-edge labelset zeroshot --labels cat,dog,ship --out ${tenant}.safetensors`,
    `  npx prompt-edge labelset publish ${tenant}.safetensors --tenant ${tenant} --name default${t}`,
    'or trained (CoOp) on a folder of labelled images, checked against the live endpoint:',
    `  npm run train-and-publish -- --data DIR --tenant ${tenant} --tenant-key <the key above>${t}`,
  ].join('\n');
}

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
      emit(f, { tenant: r.tenant, key: r.key }, () => `${keyNotice(r.tenant, r.key, 'created')}\n${nextStepsAfterCreate(r.tenant, f.target)}`);
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
