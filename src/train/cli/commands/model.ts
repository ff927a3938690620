/**
 * `model publish|list`: vision models too large to bundle, stored in the worker's R2 by the sha256
 * of their vision_model.onnx (docs/storage.md, "Vision models in R2"). Publishing uploads the
 * encoder (and its external-data weights, when it has them) and then the manifest; the worker
 * serves it once VISION_MODEL_SHA256 names it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { CheckpointError, InvalidArgumentError } from '../../../core/errors.ts';
import { AdminClient, type ModelFileName, type ModelManifestUpload, type StoredModelFile } from '../../publish/admin-client.ts';
import { ADMIN_TOKEN_ENV, resolveTarget } from '../../publish/target.ts';
import { REPO_ROOT } from '../common.ts';
import { emit, info } from '../output.ts';
import { TARGET_OPTION_HELP } from './tenant.ts';

/** The name the graph's external-data entries refer to (what `export-vision --external-data` writes next to vision_model.onnx). */
const DATA_FILE = 'vision_model.onnx.data';

const configSchema = z.object({ projection_dim: z.number().int().positive(), vision_config: z.object({ image_size: z.number().int().positive() }) });

export interface ModelFolderFiles {
  readonly manifest: ModelManifestUpload;
  readonly sha256: string;
  /** Local paths of the files to upload. */
  readonly paths: Partial<Record<ModelFileName, string>>;
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new CheckpointError(`${path} not found: --model must be a Hugging Face CLIP folder (config.json, preprocessor_config.json, onnx/vision_model.onnx).`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CheckpointError(`${path} is not valid JSON.`, { cause });
  }
}

function fileEntry(path: string): { sha256: string; bytes: number } {
  return { sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), bytes: statSync(path).size };
}

/**
 * The manifest of a model folder: config.json gives dim and input size, preprocessor_config.json
 * is sent as is, and the encoder is `onnx` (default onnx/vision_model.onnx) plus, when it exists,
 * the weights file next to it. The sha256 is that of the encoder file: the one label sets built
 * from this folder record.
 */
export function readModelFolder(dir: string, opts: { id?: string; onnx?: string } = {}): ModelFolderFiles {
  const root = resolve(dir);
  const config = configSchema.safeParse(readJson(join(root, 'config.json')));
  if (!config.success) throw new CheckpointError(`${join(root, 'config.json')} has no projection_dim / vision_config.image_size: is this a CLIP checkpoint?`);
  const preprocessor = readJson(join(root, 'preprocessor_config.json'));
  const onnx = resolve(opts.onnx ?? join(root, 'onnx', 'vision_model.onnx'));
  if (!existsSync(onnx)) throw new CheckpointError(`${onnx} not found: the image encoder to publish (export one with \`npx prompt-edge export-vision\`).`);
  // export-vision --external-data writes <out>.data and names it so in the graph.
  const data = `${onnx}.data`;
  const hasData = existsSync(data);
  if (hasData && basename(onnx) !== 'vision_model.onnx') {
    // The worker hands the weights to onnxruntime under one fixed name, which the graph must use.
    throw new InvalidArgumentError(`${onnx} has its weights in ${basename(data)}: export it as vision_model.onnx (export-vision --out DIR/vision_model.onnx --external-data) so that the graph refers to ${DATA_FILE}.`);
  }
  const graph = fileEntry(onnx);
  const weights = hasData ? fileEntry(data) : undefined;
  return {
    sha256: graph.sha256,
    manifest: {
      id: opts.id ?? basename(root),
      dim: config.data.projection_dim,
      image_size: config.data.vision_config.image_size,
      preprocessor_config: preprocessor,
      files: { 'vision_model.onnx': graph, ...(weights ? { [DATA_FILE]: weights } : {}) },
    },
    paths: { 'vision_model.onnx': onnx, ...(weights ? { [DATA_FILE]: data } : {}) },
  };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

interface PublishFlags { model: string; id?: string; onnx?: string; target: string; json?: boolean }

export function registerModelCommands(program: Command): Command {
  const model = program
    .command('model')
    .description('Vision models too large to bundle: upload them into the worker\'s R2, served when VISION_MODEL_SHA256 names them.')
    .addHelpText('after', `\nTargets:\n  --target local        the \`npm start\` worker; the admin token is ADMIN_TOKEN in .dev.vars\n  --target https://...  a deployed worker; export ${ADMIN_TOKEN_ENV}=<its ADMIN_TOKEN secret>`);

  model
    .command('publish')
    .description('Upload a model folder\'s image encoder (and its external-data weights, if any) with its manifest, each file checked by sha256 on arrival.')
    .requiredOption('--model <dir>', 'Hugging Face CLIP folder: config.json, preprocessor_config.json, onnx/vision_model.onnx [+ onnx/vision_model.onnx.data]')
    .option('--onnx <file>', 'the encoder to publish instead of <dir>/onnx/vision_model.onnx (e.g. an export-vision output)')
    .option('--id <name>', 'the model id classify reports (default: the folder name)')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print the published manifest as JSON and nothing else on stdout')
    .addHelpText('after', '\nExample:\n  npx prompt-edge export-vision --model DIR --precision int8 --out DIR-int8/onnx/vision_model.onnx --external-data\n  npx prompt-edge model publish --model DIR-int8 --target https://prompt-edge.example.workers.dev')
    .action(async (f: PublishFlags) => {
      const folder = readModelFolder(f.model, { ...(f.id ? { id: f.id } : {}), ...(f.onnx ? { onnx: f.onnx } : {}) });
      // Uploads of hundreds of MB: allow them time.
      const client = new AdminClient(resolveTarget(f.target, { repoRoot: REPO_ROOT, env: process.env }), { timeoutMs: 15 * 60_000 });
      const uploaded: Partial<Record<ModelFileName, StoredModelFile['stored']>> = {};
      // Published already (a published model never changes): nothing to upload; publishing the
      // manifest again still says whether it is this one.
      if ((await client.getModel(folder.sha256)) === null) {
        for (const [file, path] of Object.entries(folder.paths) as Array<[ModelFileName, string]>) {
          const entry = folder.manifest.files[file]!;
          info(`uploading ${file} (${mb(entry.bytes)}, sha256 ${entry.sha256.slice(0, 12)}…) to ${client.target.baseUrl}`);
          uploaded[file] = (await client.putModelFile(folder.sha256, file, new Uint8Array(readFileSync(path)), entry.sha256)).stored;
        }
      }
      const published = await client.publishModel(folder.sha256, folder.manifest);
      const serve = `VISION_MODEL_SHA256 = "${published.sha256}"`;
      emit(f, { ...published, uploaded, serve }, () =>
        [
          `${published.created ? 'published' : 'already published:'} model ${published.id} (sha256 ${published.sha256}) on ${client.target.baseUrl}`,
          ...Object.entries(published.files).map(([name, e]) => `  ${name}: ${mb(e.bytes)}${uploaded[name as ModelFileName] === 'created' ? '' : ' (already stored)'}`),
          `To serve it, set ${serve} under [vars] in wrangler.toml (or deploy with --var VISION_MODEL_SHA256:${published.sha256}).`,
          'Label sets for it must record this sha256 as model_sha256: build them against a folder whose onnx/vision_model.onnx is this file.',
        ].join('\n'),
      );
    });

  model
    .command('list')
    .description('List the models in the worker\'s R2 and the one it is configured to serve.')
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print {"serving", "models": [...]} and nothing else on stdout')
    .action(async (f: { target: string; json?: boolean }) => {
      const r = await new AdminClient(resolveTarget(f.target, { repoRoot: REPO_ROOT, env: process.env })).listModels();
      emit(f, r, () =>
        [
          `serving: ${r.serving ?? 'the bundled model (VISION_MODEL_SHA256 unset)'}`,
          ...(r.models.length === 0
            ? ['no models in R2']
            : r.models.map((m) => `${m.sha256}  ${m.id.padEnd(24)} dim ${String(m.dim).padEnd(5)} ${mb(m.bytes).padStart(9)}${m.external_data ? ' (external data)' : ''}  ${m.created_at}`)),
        ].join('\n'),
      );
    });
  return model;
}
