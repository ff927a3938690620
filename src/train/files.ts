/** Writing files so that a crash never leaves a half-written artifact behind. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Writes via a temporary file + rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, abs);
}
