/**
 * Hono middleware for /v1/admin: the bearer token must equal the ADMIN_TOKEN secret (constant-time
 * comparison; neither value is ever logged). Without the secret the admin API is closed.
 */
import { createMiddleware } from 'hono/factory';
import type { Env } from '../env.ts';
import { bearerToken, unauthorized } from './bearer.ts';
import { constantTimeEqual } from './constant-time.ts';

export function requireAdmin() {
  return createMiddleware<{ Bindings: Env }>(async (c, next) => {
    const expected = c.env.ADMIN_TOKEN ?? '';
    if (expected === '') {
      throw unauthorized('The admin API is disabled: this worker has no ADMIN_TOKEN secret. Set it with `npx wrangler secret put ADMIN_TOKEN` (locally: ADMIN_TOKEN in .dev.vars, which `npm start` creates).');
    }
    const token = bearerToken(c.req.header('authorization') ?? null);
    if (!(await constantTimeEqual(token, expected))) throw unauthorized('Invalid admin token.');
    await next();
  });
}
