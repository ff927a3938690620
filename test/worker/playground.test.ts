/** GET /: the playground page as the worker serves it (its behaviour in a browser: test/browser). */
import { describe, expect, it } from 'vitest';
import { makeApi } from './helpers/storage-app.ts';
import type { ErrorJson } from './helpers/test-app.ts';

describe('playground page', () => {
  it('is small, self-contained HTML with labelled controls, a file input that offers the camera, and no key when not local', async () => {
    const api = makeApi({ DEMO_API_KEY: 'pe_demo_secret_for_test' });
    const res = await api.app.request('https://prompt-edge.example.com/', {}, api.env);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const page = await res.text();
    expect(page).not.toContain('pe_demo_secret_for_test');
    expect(page.length).toBeLessThan(20_000);
    // No external scripts or styles: nothing to bundle, nothing fetched from elsewhere.
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    for (const id of ['key', 'labelset', 'topk', 'file']) expect(page).toMatch(new RegExp(`<label for="${id}"`));
    expect(page).toContain('accept="image/*" capture="environment"');
    expect(page).toContain('<html lang="en">');
  });

  it('pre-fills the demo key only for a loopback host (wrangler dev), never caching that page', async () => {
    const api = makeApi({ DEMO_API_KEY: 'pe_demo_secret_for_test' });
    for (const host of ['127.0.0.1:8787', 'localhost:8806', '[::1]:8787']) {
      const res = await api.app.request(`http://${host}/`, {}, api.env);
      expect(await res.text(), host).toContain('value="pe_demo_secret_for_test"');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const remote = await api.app.request('http://127.0.0.1.example.com/', {}, api.env);
    expect(await remote.text()).not.toContain('pe_demo_secret_for_test');
    const noDemo = makeApi({ DEMO_API_KEY: '' });
    expect(await (await noDemo.app.request('http://127.0.0.1:8787/', {}, noDemo.env)).text()).toContain('value=""');
  });

  it('escapes what it interpolates and answers other methods with 405', async () => {
    const api = makeApi({ DEMO_API_KEY: '"><script>alert(1)</script>' });
    const page = await (await api.app.request('http://127.0.0.1/', {}, api.env)).text();
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('&quot;&gt;&lt;script&gt;');
    const post = await api.app.request('http://127.0.0.1/', { method: 'POST' }, api.env);
    expect(post.status).toBe(405);
    expect(((await post.json()) as ErrorJson).error.code).toBe('method_not_allowed');
  });
});
