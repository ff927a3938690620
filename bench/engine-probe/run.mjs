// Runs worker.ts in workerd (wrangler dev on port 8803; a local file server on 18803 serves weight
// files) and prints GEMM GMAC/s per shape and tile, and ms per encode, both from workerd's own CPU
// time (/proc), which a machine shared with other jobs distorts far less than wall time.
//   node scripts/build-engine.mjs && node_modules/.bin/node bench/engine-probe/run.mjs --gemm [--relaxed-only] [file.edge-vit ...]
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
const here = new URL('.', import.meta.url).pathname;
const root = new URL('../../', import.meta.url).pathname;
const flags = execFileSync('sh', ['-c', "lscpu | grep -o -E 'avx512_vnni|avx_vnni|avx2' | sort -u | tr '\\n' ' '"]).toString();
console.log('cpu flags:', flags, 'load:', execFileSync('cat', ['/proc/loadavg']).toString().trim());
const files = process.argv.slice(2).filter((a) => !a.startsWith('--')).map((f) => (f.startsWith('/') ? f.slice(root.length) : f));
for (const f of files) statSync(root + f); // a missing file fails here, before anything starts
const server = createServer((req, res) => {
  const f = root + decodeURIComponent(req.url.slice(1));
  res.writeHead(200, { 'content-length': statSync(f).size });
  createReadStream(f).pipe(res);
}).listen(18803);
const wd = spawn(root + 'node_modules/.bin/wrangler', ['dev', '--config', here + 'wrangler.toml', '--port', '8803', '--ip', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, PATH: root + 'node_modules/.bin:' + process.env.PATH } });
let log = '';
// Stop wrangler (its whole process group) however this script ends.
const stop = () => { try { process.kill(-wd.pid, 'SIGTERM'); } catch {} };
process.on('exit', stop);
process.on('SIGINT', () => process.exit(130));
wd.stdout.on('data', (d) => { log += d; });
wd.stderr.on('data', (d) => { log += d; });
try {
  for (let i = 0; ; i++) {
    try { await fetch('http://127.0.0.1:8803/ping'); break; } catch { if (i > 120) throw new Error('wrangler dev did not start:\n' + log); await new Promise((r) => setTimeout(r, 500)); }
  }
  // workerd's CPU time (utime + stime of the workerd processes under wrangler), from /proc: robust
  // on a machine shared with other jobs, unlike wall time.
  const descendants = (pid) => { try { const kids = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number); return kids.flatMap((k) => [k, ...descendants(k)]); } catch { return []; } };
  const workerdPids = () => descendants(wd.pid).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'workerd'; } catch { return false; } });
  const cpuMs = () => workerdPids().reduce((sum, p) => { const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' '); return sum + (Number(f[11]) + Number(f[12])) * 10; }, 0);
  const timed = async (p) => { const c0 = cpuMs(); const t0 = performance.now(); const r = await get(p); return { r, cpu: cpuMs() - c0, wall: performance.now() - t0 }; };
  const get = async (p) => { const r = await fetch('http://127.0.0.1:8803' + p); const t = await r.text(); try { return JSON.parse(t); } catch { return t; } };
  await get('/ping');
  if (process.argv.includes('--gemm')) {
    const shapes = [[50, 768, 2304], [50, 768, 768], [50, 768, 3072], [50, 3072, 768], [197, 768, 2304], [197, 3072, 768]];
    for (const [variant, tile] of (process.argv.includes('--relaxed-only') ? [['relaxed', '6x8']] : [['relaxed', '4x16'], ['relaxed', '4x8'], ['relaxed', '6x8'], ['simd', '6x8']])) {
      const row = [];
      for (const [m, k, n] of shapes) {
        const reps = Math.ceil(16e9 / (m * k * n) / (variant === 'simd' ? 3 : 1));
        const base = await timed(`/gemm1?variant=${variant}&tile=${tile}&m=${m}&k=${k}&n=${n}&reps=1`);
        const t = await timed(`/gemm1?variant=${variant}&tile=${tile}&m=${m}&k=${k}&n=${n}&reps=${reps + 1}`);
        row.push(`${m}x${k}x${n}: ${((m * k * n * reps) / ((t.cpu - base.cpu) / 1000) / 1e9).toFixed(1)}`);
      }
      console.log(`workerd GEMM GMAC/s (CPU time) ${variant} ${tile}: ${row.join(' | ')}`);
    }
  }
  const variants = process.argv.includes('--relaxed-only') ? [['relaxed', '6x8']] : [['relaxed', '6x8'], ['relaxed', '4x16'], ['simd', '6x8']];
  for (const f of files) {
    for (const [variant, tile] of variants) {
      const l = await get(`/load?src=${encodeURIComponent('http://127.0.0.1:18803/' + f)}&variant=${variant}&tile=${tile}`);
      const reps = process.argv.includes('--quick') ? 5 : 20;
      const e = await timed(`/encode?key=${variant}-${tile}&reps=${reps}`);
      // /encode runs 1 + 2 * reps encodes
      console.log(f, variant, tile, JSON.stringify(l), 'encode ms (in-worker timer):', JSON.stringify(e.r), 'CPU ms per encode (workerd /proc):', (e.cpu / (1 + 2 * reps)).toFixed(1));
    }
  }
} finally {
  process.off('exit', stop);
  try { process.kill(-wd.pid, 'SIGTERM'); } catch { console.log('wrangler exited:', log.slice(-3000)); }
  server.close();
}
