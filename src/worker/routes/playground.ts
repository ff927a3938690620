/**
 * GET /: the playground page (playground/page.ts). No key is needed to load it; everything it does
 * afterwards goes through the public API with the key the visitor pastes.
 *
 * The demo key is pre-filled only when the worker runs locally, which it tells from the request's
 * own URL: its host is a loopback address (127.0.0.1, localhost, [::1]) only under `wrangler dev`
 * / `npm start` on this machine. On Cloudflare the URL's host is the zone or workers.dev host the
 * request was routed by, so no remote visitor can make it loopback, and a deployed worker with a
 * DEMO_API_KEY secret never hands that key out.
 */
import { Hono } from 'hono';
import { readLimits, type Env } from '../env.ts';
import { DEFAULT_TOP_K, MAX_TOP_K } from '../../core/contract/api.ts';
import { playgroundPage } from '../playground/page.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function isLocalRequest(url: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname);
}

export function playgroundRoutes() {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/', (c) => {
    const demoKey = c.env.DEMO_API_KEY && isLocalRequest(c.req.url) ? c.env.DEMO_API_KEY : null;
    // The page is small and built per request; it must not be cached with a key in it.
    c.header('cache-control', demoKey ? 'no-store' : 'public, max-age=300');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    return c.html(playgroundPage({ demoKey, defaultTopK: DEFAULT_TOP_K, maxTopK: MAX_TOP_K, maxBodyBytes: readLimits(c.env).maxBodyBytes }));
  });
  app.all('/', methodNotAllowed('GET', 'HEAD'));
  return app;
}
