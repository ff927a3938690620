/** A catch-all handler for a known path hit with a method it does not serve. */
import type { Handler } from 'hono';
import { HttpError } from '../http/errors.ts';

export function methodNotAllowed(...allowed: string[]): Handler {
  const allow = allowed.join(', ');
  return (c) => {
    throw new HttpError('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${allow}.`, { allow });
  };
}
