/**
 * `labelset list|rollback|delete`: a tenant's published label sets on a worker (admin API).
 * Registered under the existing `labelset` command, next to the offline builders.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { readLabelSetFile } from '../../labelset-files.ts';
import { describePublished, type LabelSetInfo } from '../../publish/admin-client.ts';
import { emit } from '../output.ts';
import { adminClientFor, TARGET_OPTION_HELP } from '../targets.ts';

interface RemoteFlags { tenant: string; target: string; json?: boolean }

function accuracyOf(ls: LabelSetInfo): string {
  const a = ls.metrics?.['accuracy'];
  return typeof a === 'number' ? `${(a * 100).toFixed(1)}%` : '–';
}

export function registerRemoteLabelsetCommands(labelset: Command): void {
  labelset
    .command('list')
    .description('List a tenant\'s published label sets (current version, method, labels, accuracy).')
    .requiredOption('--tenant <t>', 'tenant id')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant", "labelsets": [{"name", "version", "labels", "method", "metrics", "created_at", "model_id"}]} on stdout')
    .action(async (f: RemoteFlags) => {
      const r = await adminClientFor(f.target).listLabelSets(f.tenant);
      emit(f, r, () => r.labelsets.length === 0
        ? `tenant ${r.tenant} has no label sets`
        : [
          `${'name'.padEnd(20)} ${'version'.padEnd(8)} ${'method'.padEnd(9)} ${'accuracy'.padEnd(9)} ${'created'.padEnd(25)} labels`,
          ...r.labelsets.map((l) => `${l.name.padEnd(20)} ${l.version.padEnd(8)} ${l.method.padEnd(9)} ${accuracyOf(l).padEnd(9)} ${(l.created_at ?? '').padEnd(25)} ${l.labels.length}: ${l.labels.slice(0, 8).join(', ')}${l.labels.length > 8 ? ', ...' : ''}`),
        ].join('\n'));
    });

  labelset
    .command('publish')
    .description('Upload a label set artifact (e.g. from `prompt-edge train`) as a new version of a tenant\'s label set.')
    .argument('<file>', 'label set artifact (.safetensors)')
    .requiredOption('--tenant <t>', 'tenant id (must exist: `prompt-edge tenant create`)')
    .option('--name <n>', 'label set name', 'default')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant", "name", "version", "labels", "method"} on stdout')
    .action(async (file: string, f: RemoteFlags & { name: string }) => {
      // Validated locally first (format, finite values, unit rows) for a clear error before upload;
      // the worker validates again against the model it serves.
      readLabelSetFile(file);
      const r = await adminClientFor(f.target).putLabelSet(f.tenant, f.name, new Uint8Array(readFileSync(file)));
      emit(f, r, () => describePublished(r));
    });

  labelset
    .command('rollback')
    .description('Make an earlier version of a published label set current again (default: the previous one).')
    .requiredOption('--tenant <t>', 'tenant id')
    .requiredOption('--name <n>', 'label set name')
    .option('--version <v>', 'version to make current (as `labelset list` shows it); default: the previous version')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant", "name", "version"} on stdout')
    .action(async (f: RemoteFlags & { name: string; version?: string }) => {
      const r = await adminClientFor(f.target).rollback(f.tenant, f.name, f.version);
      emit(f, r, () => `${r.tenant}/${r.name} is now at version ${r.version}`);
    });

  labelset
    .command('delete')
    .description('Delete a published label set (classify requests naming it then get 404).')
    .requiredOption('--tenant <t>', 'tenant id')
    .requiredOption('--name <n>', 'label set name')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"tenant", "name", "deleted": true} on stdout')
    .action(async (f: RemoteFlags & { name: string }) => {
      const r = await adminClientFor(f.target).deleteLabelSet(f.tenant, f.name);
      emit(f, r, () => `deleted label set ${r.tenant}/${r.name}`);
    });
}
