import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { LOCAL_PORT_FILE, localPort, parseDevVars, resolveTarget } from '../../src/train/publish/target.ts';

const dirs: string[] = [];
function repoWith(devVars?: string): string {
  const d = mkdtempSync(join(tmpdir(), 'pe-target-'));
  dirs.push(d);
  if (devVars !== undefined) writeFileSync(join(d, '.dev.vars'), devVars);
  return d;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('.dev.vars parsing', () => {
  it('reads quoted, unquoted and exported values, skipping comments and blank lines', () => {
    const vars = parseDevVars([
      '# Local secrets for `wrangler dev`',
      'DEMO_API_KEY="pe_demo_abc"',
      '',
      'ADMIN_TOKEN = "pe_admin_123"  ',
      "SINGLE='a b # not a comment'",
      'BARE=plain # trailing comment',
      'export EXPORTED="yes"',
      'ESCAPED="line1\\nq\\"uote"',
      'EMPTY=',
      'not a line',
    ].join('\r\n'));
    expect(vars).toEqual({
      DEMO_API_KEY: 'pe_demo_abc',
      ADMIN_TOKEN: 'pe_admin_123',
      SINGLE: 'a b # not a comment',
      BARE: 'plain',
      EXPORTED: 'yes',
      ESCAPED: 'line1\nq"uote',
      EMPTY: '',
    });
  });

  it('reads the file scripts/start.mjs writes', () => {
    const text = '# Local secrets for `wrangler dev` (created by npm start; never commit).\nDEMO_API_KEY="pe_demo_0123"\nADMIN_TOKEN="pe_admin_4567"\n';
    expect(parseDevVars(text)['ADMIN_TOKEN']).toBe('pe_admin_4567');
  });
});

describe('target resolution', () => {
  it('local: 127.0.0.1:8787 with ADMIN_TOKEN from .dev.vars; PORT overrides', () => {
    const root = repoWith('ADMIN_TOKEN="tok"\nDEMO_API_KEY="demo"\n');
    expect(resolveTarget('local', { repoRoot: root, env: {} })).toEqual({
      baseUrl: 'http://127.0.0.1:8787', adminToken: 'tok', local: true, devVars: { ADMIN_TOKEN: 'tok', DEMO_API_KEY: 'demo' }, portFrom: 'default',
    });
    expect(resolveTarget('local', { repoRoot: root, env: { PORT: '9000' } }).baseUrl).toBe('http://127.0.0.1:9000');
    expect(() => resolveTarget('local', { repoRoot: root, env: { PORT: 'abc' } })).toThrow(/PORT must be a port number/);
    expect(() => resolveTarget('local', { repoRoot: root, env: { PORT: '70000' } })).toThrow(/PORT must be a port number/);
  });

  it('local: without PORT, the port the last `npm start` recorded in .wrangler/local-port', () => {
    const root = repoWith('ADMIN_TOKEN="tok"\n');
    mkdirSync(join(root, '.wrangler'));
    writeFileSync(join(root, LOCAL_PORT_FILE), '8790\n');
    expect(localPort(root, {})).toEqual({ port: '8790', from: 'npm start' });
    expect(resolveTarget('local', { repoRoot: root, env: {} })).toMatchObject({ baseUrl: 'http://127.0.0.1:8790', portFrom: 'npm start' });
    // PORT still wins over the file.
    expect(resolveTarget('local', { repoRoot: root, env: { PORT: '9001' } })).toMatchObject({ baseUrl: 'http://127.0.0.1:9001', portFrom: 'PORT' });
    writeFileSync(join(root, LOCAL_PORT_FILE), 'junk\n');
    expect(() => localPort(root, {})).toThrow(/local-port \(written by `npm start`; delete it to use 8787\) must be a port number/);
  });

  it('local: a missing .dev.vars or ADMIN_TOKEN says to run npm start', () => {
    const none = repoWith();
    expect(() => resolveTarget('local', { repoRoot: none, env: {} })).toThrow(InvalidArgumentError);
    expect(() => resolveTarget('local', { repoRoot: none, env: {} })).toThrow(/does not exist: run `npm start` once/);
    const noToken = repoWith('DEMO_API_KEY="x"\n');
    expect(() => resolveTarget('local', { repoRoot: noToken, env: {} })).toThrow(/has no ADMIN_TOKEN/);
    const empty = repoWith('ADMIN_TOKEN=""\n');
    expect(() => resolveTarget('local', { repoRoot: empty, env: {} })).toThrow(/has no ADMIN_TOKEN/);
  });

  it('URL: token from PROMPT_EDGE_ADMIN_TOKEN, trailing slash dropped, path kept', () => {
    const root = repoWith();
    expect(resolveTarget('https://pe.example.workers.dev/', { repoRoot: root, env: { PROMPT_EDGE_ADMIN_TOKEN: 'remote' } })).toEqual({
      baseUrl: 'https://pe.example.workers.dev', adminToken: 'remote', local: false, devVars: {},
    });
    expect(resolveTarget('https://example.com/pe/', { repoRoot: root, env: { PROMPT_EDGE_ADMIN_TOKEN: 'r' } }).baseUrl).toBe('https://example.com/pe');
    expect(resolveTarget('http://localhost:8787', { repoRoot: root, env: { PROMPT_EDGE_ADMIN_TOKEN: 'r' } }).baseUrl).toBe('http://localhost:8787');
  });

  it('URL: a missing token names the environment variable', () => {
    expect(() => resolveTarget('https://pe.example.workers.dev', { repoRoot: repoWith(), env: {} })).toThrow(/PROMPT_EDGE_ADMIN_TOKEN/);
    expect(() => resolveTarget('https://pe.example.workers.dev', { repoRoot: repoWith(), env: { PROMPT_EDGE_ADMIN_TOKEN: '' } })).toThrow(/PROMPT_EDGE_ADMIN_TOKEN/);
  });

  it('refuses plain http to another host, and anything that is not local or a URL', () => {
    const env = { PROMPT_EDGE_ADMIN_TOKEN: 't' };
    expect(() => resolveTarget('http://pe.example.com', { repoRoot: repoWith(), env })).toThrow(/use https:\/\//);
    expect(() => resolveTarget('staging', { repoRoot: repoWith(), env })).toThrow(/must be "local" or a worker URL/);
    expect(() => resolveTarget('https://x.dev/?a=1', { repoRoot: repoWith(), env })).toThrow(/without a query/);
  });
});
