import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-plugin';

export default defineConfig({
  test: {
    // The worker's one JSON line per request (http/request-log.ts) would drown the test output.
    onConsoleLog: (log: string) => !log.startsWith('{"type":"request"'),
    projects: [
      { test: { name: 'node', include: ['test/core/**/*.test.ts', 'test/train/**/*.test.ts'], environment: 'node', testTimeout: 60_000 } },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'workerd',
          include: ['test/worker/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Headless Chromium against `wrangler dev` (test/browser/helpers): one worker start per file.
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], environment: 'node', testTimeout: 180_000, hookTimeout: 300_000 },
      },
    ],
  },
});
