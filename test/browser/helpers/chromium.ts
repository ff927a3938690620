/**
 * The system's Chromium for browser tests: Debian's `chromium` package (`.ci/run` installs it with
 * apt-get when missing), or CHROMIUM_PATH. Playwright's own browser download cannot work here, so
 * playwright-core only drives an executable that is already installed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './wrangler-dev.ts';

/** Screenshots and generated pages of the browser tests (gitignored). */
export const TEST_OUTPUT = join(REPO_ROOT, 'test-output', 'browser');

export function chromiumPath(): string {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`No Chromium found (looked at ${candidates.join(', ')}). Install Debian's package: sudo apt-get install -y chromium (or set CHROMIUM_PATH to a Chromium/Chrome executable).`);
  }
  return found;
}
