/**
 * Where the admin API lives and which token opens it:
 *   `--target local`        the `npm start` worker on 127.0.0.1, token = ADMIN_TOKEN in .dev.vars; its port is
 *                           $PORT, else the one the last `npm start` recorded in .wrangler/local-port, else 8787
 *   `--target https://...`  a deployed worker, token = $PROMPT_EDGE_ADMIN_TOKEN
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.ts';

export const ADMIN_TOKEN_ENV = 'PROMPT_EDGE_ADMIN_TOKEN';
export const TENANT_KEY_ENV = 'PROMPT_EDGE_TENANT_KEY';
export const DEFAULT_LOCAL_PORT = '8787';
/** Where scripts/start.mjs records the port it serves on, so that `--target local` finds it without PORT. */
export const LOCAL_PORT_FILE = join('.wrangler', 'local-port');

export interface Target {
  /** No trailing slash, e.g. http://127.0.0.1:8787 */
  readonly baseUrl: string;
  readonly adminToken: string;
  /** The `npm start` worker: errors then point at `npm start` and .dev.vars. */
  readonly local: boolean;
  /** .dev.vars values (local only), e.g. DEMO_API_KEY. */
  readonly devVars: Readonly<Record<string, string>>;
  /** Local only: where the port came from, for the hint when nothing answers there. */
  readonly portFrom?: LocalPort['from'];
}

export interface LocalPort {
  port: string;
  /** `PORT` (the environment), `npm start` (.wrangler/local-port) or `default` (8787). */
  from: 'PORT' | 'npm start' | 'default';
}

/**
 * The port of the local worker: $PORT wins (so `PORT=8790 npm start` and `PORT=8790 npx prompt-edge
 * ... --target local` agree), then the port the last `npm start` recorded, then 8787.
 */
export function localPort(repoRoot: string, env: Readonly<Record<string, string | undefined>>): LocalPort {
  const check = (port: string, what: string): string => {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new InvalidArgumentError(`${what} must be a port number (1-65535), got "${port}".`);
    return port;
  };
  const fromEnv = env['PORT'];
  if (fromEnv) return { port: check(fromEnv, 'PORT'), from: 'PORT' };
  const file = join(repoRoot, LOCAL_PORT_FILE);
  if (existsSync(file)) return { port: check(readFileSync(file, 'utf8').trim(), `The port in ${file} (written by \`npm start\`; delete it to use 8787)`), from: 'npm start' };
  return { port: DEFAULT_LOCAL_PORT, from: 'default' };
}

/** For the "nothing answers" error: where the local port came from and how to change it. */
export function localPortHint(from: LocalPort['from'] | undefined): string {
  switch (from) {
    case 'PORT': return 'the port comes from PORT: start it with the same PORT (`PORT=<port> npm start`)';
    case 'npm start': return 'the port is the one the last `npm start` used (.wrangler/local-port): start it again, or set PORT to the port it serves on';
    default: return 'start it with `npm start` (port 8787), or if it serves on another port, run this command with PORT=<that port>';
  }
}

/**
 * Parses a .dev.vars file (dotenv syntax, as wrangler reads it): KEY=value, KEY="value", KEY='value',
 * optional `export `, # comments, blank lines, CRLF. Double-quoted values expand \n, \r, \t, \" and \\.
 */
export function parseDevVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c]!);
    } else {
      // Unquoted: an inline comment starts at " #".
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out[key] = value;
  }
  return out;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export interface ResolveTargetContext {
  repoRoot: string;
  env: Readonly<Record<string, string | undefined>>;
}

export function resolveTarget(target: string, ctx: ResolveTargetContext): Target {
  if (target === 'local') {
    const { port, from } = localPort(ctx.repoRoot, ctx.env);
    const path = join(ctx.repoRoot, '.dev.vars');
    if (!existsSync(path)) {
      throw new InvalidArgumentError(`--target local needs the admin token from ${path}, which does not exist: run \`npm start\` once (it creates .dev.vars with ADMIN_TOKEN).`);
    }
    const devVars = parseDevVars(readFileSync(path, 'utf8'));
    const adminToken = devVars['ADMIN_TOKEN'];
    if (!adminToken) {
      throw new InvalidArgumentError(`${path} has no ADMIN_TOKEN: add a line ADMIN_TOKEN="<a long random string>" (or delete the file and run \`npm start\`, which writes one).`);
    }
    return { baseUrl: `http://127.0.0.1:${port}`, adminToken, local: true, devVars, portFrom: from };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new InvalidArgumentError(`--target must be "local" or a worker URL such as https://prompt-edge.example.workers.dev, got "${target}".`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    // The admin token travels in a header: never over plain HTTP to another machine.
    throw new InvalidArgumentError(`--target ${target}: use https:// (plain http:// is only allowed for localhost, because the admin token is sent with every request).`);
  }
  if (url.search || url.hash) throw new InvalidArgumentError(`--target ${target}: give the worker's base URL without a query or fragment.`);
  const adminToken = ctx.env[ADMIN_TOKEN_ENV];
  if (!adminToken) {
    throw new InvalidArgumentError(`--target ${target} needs the worker's admin token in the environment variable ${ADMIN_TOKEN_ENV} (the ADMIN_TOKEN secret you set with \`wrangler secret put ADMIN_TOKEN\`).`);
  }
  return { baseUrl: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, adminToken, local: false, devVars: {} };
}
