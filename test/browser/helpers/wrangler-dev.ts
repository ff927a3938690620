/**
 * `wrangler dev` on the repository's own wrangler.toml, on a free loopback port, with fresh local
 * storage (a temporary --persist-to) and test secrets passed as --var (they override a developer's
 * .dev.vars), so a browser test sees exactly what `npm start` serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');

export interface WranglerDev {
  readonly url: string;
  /** What wrangler and the worker printed (for failure messages and the request-log check). */
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => done(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Stops the process group we started (detached), nothing else. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await exited;
  clearTimeout(timer);
}

export async function startWranglerDev(vars: Readonly<Record<string, string>>, timeoutMs = 240_000): Promise<WranglerDev> {
  const wrangler = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
  if (!existsSync(wrangler)) throw new Error('wrangler is not installed: run npm ci first');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const persist = mkdtempSync(join(tmpdir(), 'prompt-edge-browser-'));
    const child = spawn(
      wrangler,
      ['dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persist, '--show-interactive-dev-session=false', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
      { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let out = '';
    const collect = (d: Buffer) => { out += d.toString(); };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const ready = await new Promise<boolean>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`wrangler dev was not ready within ${timeoutMs / 1000} s:\n${out.slice(-3000)}`)), timeoutMs);
      const poll = setInterval(() => {
        if (/Ready on http/i.test(out)) { clearTimeout(timer); clearInterval(poll); done(true); }
      }, 100);
      child.once('exit', () => { clearTimeout(timer); clearInterval(poll); done(false); });
    }).catch(async (err: unknown) => { await stopGroup(child); rmSync(persist, { recursive: true, force: true }); throw err; });
    if (!ready) {
      rmSync(persist, { recursive: true, force: true });
      // Another process took the port between our check and workerd's bind: try another one.
      if (attempt < 3 && /Address already in use/i.test(out)) continue;
      throw new Error(`wrangler dev exited before it was ready:\n${out.slice(-3000)}`);
    }
    return {
      url: `http://127.0.0.1:${port}`,
      output: () => out,
      stop: async () => {
        await stopGroup(child);
        rmSync(persist, { recursive: true, force: true });
      },
    };
  }
}
