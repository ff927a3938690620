/**
 * The `prompt-edge` command line. Each command lives in ./commands; this file wires them and turns
 * errors into one clear line on stderr (and a JSON error document on stdout under --json).
 */
import { Command, CommanderError } from 'commander';
import { PromptEdgeError } from '../../core/errors.ts';
import { packageVersion } from './common.ts';
import { registerCheckLiveCommand } from './commands/check-live.ts';
import { registerEvalCommand } from './commands/eval.ts';
import { registerImageCommands } from './commands/image.ts';
import { registerInspectCommand } from './commands/inspect.ts';
import { registerLabelsetCommands } from './commands/labelset.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerRemoteLabelsetCommands } from './commands/labelset-remote.ts';
import { registerTenantCommands } from './commands/tenant.ts';
import { registerSynthModelCommand } from './commands/synth-model.ts';
import { registerExportVisionCommand } from './commands/export-vision.ts';
import { registerTextCommands } from './commands/text.ts';
import { registerTrainCommand } from './commands/train.ts';
import { registerTrainAndPublishCommand } from './commands/train-and-publish.ts';

export function buildProgram(): Command {
  const program = new Command('prompt-edge')
    .description('CLIP classification at the edge: build, train (CoOp) and evaluate label sets offline; serve them from a Cloudflare Worker.')
    .version(packageVersion(), '-V, --version', 'print the version of prompt-edge')
    // Program options only before the command name: `labelset rollback --version 3` is the command's own.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerTextCommands(program);
  registerImageCommands(program);
  registerRemoteLabelsetCommands(registerLabelsetCommands(program));
  registerEvalCommand(program);
  registerCheckLiveCommand(program);
  registerTrainCommand(program);
  registerInspectCommand(program);
  registerSynthModelCommand(program);
  registerExportVisionCommand(program);
  registerTenantCommands(program);
  registerModelCommands(program);
  registerTrainAndPublishCommand(program);
  for (const c of program.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return program;
}

/** Runs the CLI; returns the process exit code (0 ok, 1 internal error, 2 usage or input error). */
export async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof PromptEdgeError) {
      process.stderr.write(`error: ${err.message}\n`);
      if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message } })}\n`);
      return 2;
    }
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code: 'internal', message: String(err) } })}\n`);
    return 1;
  }
}
