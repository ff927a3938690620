#!/usr/bin/env node
// `npm start`: serve the embedded default model locally with `wrangler dev`, on local R2/KV storage
// persisted under .wrangler/state. First run creates .dev.vars (gitignored) with a random DEMO_API_KEY
// and ADMIN_TOKEN; the worker seeds the demo tenant (that key, the bundled default label set) into
// storage on its first /v1 request. Prints the demo key, a ready curl line and where the admin token is.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const devVars = join(root, '.dev.vars');
const port = process.env.PORT || '8787';
if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  process.stderr.write(`prompt-edge: PORT must be a port number (1-65535), got "${port}".\n`);
  process.exit(2);
}

function readVars() {
  if (!existsSync(devVars)) return {};
  return Object.fromEntries(
    readFileSync(devVars, 'utf8').split('\n').map((l) => l.match(/^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/)).filter(Boolean).map((m) => [m[1], m[2]]),
  );
}

const vars = readVars();
const additions = [];
if (!vars.DEMO_API_KEY) additions.push(['DEMO_API_KEY', `pe_demo_${randomBytes(16).toString('hex')}`]);
if (!vars.ADMIN_TOKEN) additions.push(['ADMIN_TOKEN', `pe_admin_${randomBytes(24).toString('hex')}`]);
if (additions.length) {
  const prefix = existsSync(devVars) ? readFileSync(devVars, 'utf8').replace(/\n?$/, '\n') : '# Local secrets for `wrangler dev` (created by npm start; never commit).\n';
  writeFileSync(devVars, prefix + additions.map(([k, v]) => `${k}="${v}"`).join('\n') + '\n', { mode: 0o600 });
  for (const [k, v] of additions) vars[k] = v;
}

process.stderr.write(
  [
    '',
    `prompt-edge: serving the embedded default model (tiny-clip-cifar10) on http://127.0.0.1:${port}`,
    `  playground: http://127.0.0.1:${port}/   (the demo key is filled in)`,
    `  demo tenant key: ${vars.DEMO_API_KEY}   (from .dev.vars; seeded as tenant "demo" with label set "default")`,
    '  try:',
    `    curl -s -H "Authorization: Bearer ${vars.DEMO_API_KEY}" -H "Content-Type: image/jpeg" \\`,
    `         --data-binary @../shared/datasets/cifar10-fewshot/test/cat/$(ls ../shared/datasets/cifar10-fewshot/test/cat | head -1) \\`,
    `         http://127.0.0.1:${port}/v1/classify`,
    `  admin token: ADMIN_TOKEN in ${devVars}   (for /v1/admin/*; \`npx prompt-edge tenant ... --target local\` reads it from there, and this port from .wrangler/local-port)`,
    `  storage: local R2 + KV under ${join(root, '.wrangler', 'state')} (docs/storage.md); delete it to start from scratch`,
    '',
  ].join('\n') + '\n',
);

// `npx prompt-edge ... --target local` reads this when PORT is not set, so it finds a worker started
// with PORT=<port> npm start without being told again (src/train/publish/target.ts).
mkdirSync(join(root, '.wrangler'), { recursive: true });
writeFileSync(join(root, '.wrangler', 'local-port'), `${port}\n`);

// Miniflare fetches https://workers.cloudflare.com/cf.json (the `request.cf` metadata of a real edge)
// at start; offline that prints two `getaddrinfo ENOTFOUND` stack traces. The worker never reads
// request.cf, so the local placeholder is all it needs: skip the fetch unless the user asked for it.
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false' };
const child = spawn(join(root, 'node_modules', '.bin', 'wrangler'), ['dev', '--port', port, '--ip', '127.0.0.1', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const stop = (sig) => child.kill(sig);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => process.exit(code ?? 0));
