import { PromptEdgeError } from '../errors.ts';

/** An edge-vit weight file that is malformed, truncated or too long, or bytes fed after finish(). */
export class EdgeVitWeightsError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_artifact', message, options);
  }
}
