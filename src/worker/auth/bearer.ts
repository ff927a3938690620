/** Extracts the API key from `Authorization: Bearer <key>`. */
import { HttpError } from '../http/errors.ts';

const CHALLENGE = { 'www-authenticate': 'Bearer realm="prompt-edge"' };

export function unauthorized(message: string): HttpError {
  return new HttpError('unauthorized', message, CHALLENGE);
}

export function bearerToken(authorization: string | null): string {
  if (authorization === null || authorization.trim() === '') {
    throw unauthorized('Missing API key. Send it as "Authorization: Bearer <key>".');
  }
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) throw unauthorized('Malformed Authorization header. Use "Authorization: Bearer <key>".');
  return m[1]!;
}
