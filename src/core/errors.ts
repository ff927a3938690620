/**
 * Typed errors shared by the trainer, the CLI and the worker.
 *
 * Every error carries a stable machine-readable `code` (used in the worker's JSON error body and
 * the CLI's exit path) and a message that tells the user what to do about it.
 */
export const ERROR_CODES = [
  'invalid_argument',
  'invalid_image',
  'unsupported_media_type',
  'payload_too_large',
  'image_too_large',
  'invalid_checkpoint',
  'invalid_artifact',
  'model_mismatch',
  'invalid_tokenizer',
  'invalid_data',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class PromptEdgeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A caller passed a value that cannot be used (bad flag, bad parameter). */
export class InvalidArgumentError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

/** Bytes that claim to be an image but cannot be decoded. */
export class InvalidImageError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_image', message, options);
  }
}

/** A content type or image format we do not decode. */
export class UnsupportedMediaTypeError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported_media_type', message, options);
  }
}

/** A request body over the configured byte limit. */
export class PayloadTooLargeError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('payload_too_large', message, options);
  }
}

/** An image whose declared dimensions exceed the pixel limit (checked before decoding). */
export class ImageTooLargeError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('image_too_large', message, options);
  }
}

/** A model folder that is not a usable Hugging Face CLIP checkpoint. */
export class CheckpointError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_checkpoint', message, options);
  }
}

/** A label-set artifact that is malformed or inconsistent. */
export class ArtifactError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_artifact', message, options);
  }
}

/** An artifact built for another model than the one it is used with. */
export class ModelMismatchError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('model_mismatch', message, options);
  }
}

/** Tokenizer files that cannot be parsed. */
export class TokenizerError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_tokenizer', message, options);
  }
}

/** A training or evaluation data folder that cannot be used as it is. */
export class DataError extends PromptEdgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_data', message, options);
  }
}
