/**
 * `model publish|list`: vision models too large to bundle, stored in the worker's R2 by the sha256
 * of their identity file (docs/storage.md, "Vision models in R2"): vision_model.edge-vit for the
 * edge-vit engine, else vision_model.onnx. Publishing uploads the encoder (and its external-data
 * weights, when it has them) and then the manifest; the worker serves it once VISION_MODEL_SHA256 names it.
 */
import type { Command } from 'commander';
import { MAX_MODEL_PARTS, type ModelFileName } from '../../../core/model-files.ts';
import { AdminClient, type StoredModelFile } from '../../publish/admin-client.ts';
import { readModelFolder } from '../../publish/model-folder.ts';
import { ADMIN_TOKEN_ENV, resolveTarget } from '../../publish/target.ts';
import { parseIntOption, REPO_ROOT } from '../common.ts';
import { emit, info } from '../output.ts';
import { TARGET_OPTION_HELP } from '../targets.ts';

/** Sizes as people read them: kB below 0.1 MB (a graph with external data is tens of kB). */
const mb = (bytes: number) => (bytes < 1e5 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);

interface PublishFlags { model: string; id?: string; onnx?: string; edgeVit?: string; parts: number; target: string; json?: boolean }

export function registerModelCommands(program: Command): Command {
  const model = program
    .command('model')
    .description('Vision models too large to bundle: upload them into the worker\'s R2, served when VISION_MODEL_SHA256 names them.')
    .addHelpText('after', `\nTargets:\n  --target local        the \`npm start\` worker; the admin token is ADMIN_TOKEN in .dev.vars\n  --target https://...  a deployed worker; export ${ADMIN_TOKEN_ENV}=<its ADMIN_TOKEN secret>`);

  model
    .command('publish')
    .description('Upload a model folder\'s image encoder with its manifest, each file checked by sha256 on arrival: <dir>/vision_model.edge-vit (served by the edge-vit engine) when the folder has one, else <dir>/onnx/vision_model.onnx [+ its external-data weights] (served by onnxruntime-web).')
    .requiredOption('--model <dir>', 'Hugging Face CLIP folder: config.json, preprocessor_config.json, and vision_model.edge-vit or onnx/vision_model.onnx [+ onnx/vision_model.onnx.data]')
    .option('--onnx <file>', 'publish this ONNX encoder (e.g. an export-vision output) instead of the folder\'s own; also overrides a vision_model.edge-vit in the folder')
    .option('--edge-vit <file>', 'publish this edge-vit weight file (export-vision --engine edge-vit) instead of <dir>/vision_model.edge-vit')
    .option('--id <name>', 'the model id classify reports (default: the folder name)')
    .option('--parts <n>', `1: the encoder in one piece; 2-${MAX_MODEL_PARTS}: also cut it into n consecutive models (between transformer layers: a graph from export-vision --source safetensors can be cut there), each with its weights as external data, which the worker creates one at a time: what keeps a ViT-B/32 q4 encoder under a Worker's 128 MB while it loads (docs/performance.md, "Fitting 128 MB")`, parseIntOption('--parts', 1, MAX_MODEL_PARTS), 1)
    .option('--target <local|url>', TARGET_OPTION_HELP, 'local')
    .option('--json', 'print the published manifest as JSON and nothing else on stdout')
    .addHelpText('after', [
      '\nExamples:',
      '  # the edge-vit engine (int8, relaxed SIMD): label sets built against DIR then carry its sha256',
      '  npx prompt-edge export-vision --model DIR --precision int8 --engine edge-vit --out DIR',
      '  npx prompt-edge model publish --model DIR --target https://prompt-edge.example.workers.dev',
      '  # onnxruntime-web',
      '  npx prompt-edge export-vision --model DIR --precision int8 --out DIR-int8/onnx/vision_model.onnx --external-data',
      '  npx prompt-edge model publish --model DIR-int8 --target https://prompt-edge.example.workers.dev',
      '  # ViT-B/32 under 128 MB: 4-bit weights, loaded in 4 parts',
      '  npx prompt-edge export-vision --model DIR --precision q4 --source safetensors --out DIR-q4/onnx/vision_model.onnx --external-data',
      '  npx prompt-edge model publish --model DIR-q4 --parts 4 --target https://prompt-edge.example.workers.dev',
    ].join('\n'))
    .action(async (f: PublishFlags) => {
      const folder = readModelFolder(f.model, { ...(f.id ? { id: f.id } : {}), ...(f.onnx ? { onnx: f.onnx } : {}), ...(f.edgeVit ? { edgeVit: f.edgeVit } : {}), parts: f.parts });
      // Uploads of hundreds of MB: allow them time.
      const client = new AdminClient(resolveTarget(f.target, { repoRoot: REPO_ROOT, env: process.env }), { timeoutMs: 15 * 60_000 });
      const uploaded: Partial<Record<ModelFileName, StoredModelFile['stored']>> = {};
      // Published already (a published model never changes): nothing to upload; publishing the
      // manifest again still says whether it is this one.
      if ((await client.getModel(folder.sha256)) === null) {
        for (const [i, file] of folder.uploads.entries()) {
          info(`uploading ${file.name} (${i + 1}/${folder.uploads.length}, ${mb(file.entry.bytes)}, sha256 ${file.entry.sha256.slice(0, 12)}…) to ${client.target.baseUrl}`);
          uploaded[file.name] = (await client.putModelFile(folder.sha256, file.name, file.bytes(), file.entry.sha256)).stored;
        }
      }
      const published = await client.publishModel(folder.sha256, folder.manifest);
      const serve = `VISION_MODEL_SHA256 = "${published.sha256}"`;
      emit(f, { ...published, uploaded, serve }, () =>
        [
          `${published.created ? 'published' : 'already published:'} model ${published.id} (sha256 ${published.sha256}, engine ${published.engine ?? 'onnxruntime'}) on ${client.target.baseUrl}`,
          ...folder.uploads.map((u) => `  ${u.name}: ${mb(u.entry.bytes)}${uploaded[u.name] === 'created' ? '' : ' (already stored)'}`),
          ...(published.engine !== 'edge-vit' && published.parts ? [`The worker loads it in ${published.parts.length} parts, one session at a time.`] : []),
          `To serve it, set ${serve} under [vars] in wrangler.toml (or deploy with --var VISION_MODEL_SHA256:${published.sha256}).`,
          folder.manifest.engine === 'edge-vit'
            ? 'Label sets for it must record this sha256 as model_sha256: build them against a folder whose vision_model.edge-vit is this file.'
            : 'Label sets for it must record this sha256 as model_sha256: build them against a folder whose onnx/vision_model.onnx is this file (and that has no vision_model.edge-vit).',
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
            : r.models.map((m) => `${m.sha256}  ${m.id.padEnd(24)} ${(m.engine ?? 'onnxruntime').padEnd(11)} dim ${String(m.dim).padEnd(5)} ${mb(m.bytes).padStart(9)}${m.parts ? ` (${m.parts} parts)` : m.external_data ? ' (external data)' : ''}  ${m.created_at}`)),
        ].join('\n'),
      );
    });
  return model;
}
