/**
 * CLI output rules: with --json, stdout carries exactly one JSON document and nothing else;
 * humans get text on stdout; progress, warnings and errors always go to stderr.
 */
export interface OutputOptions {
  json?: boolean;
}

export function emit(opts: OutputOptions, doc: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else process.stdout.write(`${human()}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}
