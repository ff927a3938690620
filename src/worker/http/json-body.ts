/** Small JSON request bodies of the admin API (`{"tenant": ...}`, `{"version": ...}`). */
import { InvalidArgumentError, PayloadTooLargeError } from '../../core/errors.ts';
import { readRequestBody } from './read-body.ts';

const MAX_JSON_BYTES = 64 * 1024;

/** The parsed JSON object of the body; an empty body is `{}`. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const bytes = await readRequestBody(request, MAX_JSON_BYTES, () => new PayloadTooLargeError(`A JSON body may be at most ${MAX_JSON_BYTES} bytes.`));
  const text = new TextDecoder().decode(bytes).trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError('The body is not valid JSON. Send a JSON object with Content-Type: application/json.', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('The body must be a JSON object.');
  return value as Record<string, unknown>;
}
