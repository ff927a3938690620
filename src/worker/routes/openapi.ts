/** GET /openapi.json: the OpenAPI 3.1 document (http/openapi.ts), with this deployment's limits. */
import { Hono } from 'hono';
import { readLimits, type Env } from '../env.ts';
import { openApiDocument } from '../http/openapi.ts';
import { RATE_LIMIT_PERIOD_S, rateLimitTiers } from '../auth/rate-limit.ts';
import { methodNotAllowed } from './method-not-allowed.ts';

/** The version of the /v1 API this document describes (not the package's). */
export const API_VERSION = '1.0.0';

export function openApiRoutes() {
  const app = new Hono<{ Bindings: Env }>();
  app.get('/openapi.json', (c) => {
    const doc = openApiDocument({ limits: readLimits(c.env), rateLimitTiers: [...rateLimitTiers(c.env).keys()].sort(), rateLimitPeriodSeconds: RATE_LIMIT_PERIOD_S, version: API_VERSION });
    c.header('access-control-allow-origin', '*'); // client generators and API consoles fetch it cross-origin
    return c.json(doc);
  });
  app.all('/openapi.json', methodNotAllowed('GET', 'HEAD'));
  return app;
}
