/**
 * Reads the uploaded image bytes from a request, enforcing the body-size limit before anything is
 * buffered beyond it (read-body.ts).
 *
 * Accepted bodies: raw `image/jpeg`, `image/png`, `image/webp`, `image/gif`, `image/bmp`, `image/avif`,
 * `application/octet-stream` (or no content type),
 * and `multipart/form-data` with the image in the field `image`. Which image format the bytes are
 * is decided later from their signature, not from these headers.
 */
import { InvalidArgumentError, InvalidImageError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../core/errors.ts';
import { readRequestBody } from './read-body.ts';

export const IMAGE_FIELD = 'image';
const RAW_IMAGE_TYPES = new Set([
  'image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/x-ms-bmp', 'image/avif', 'application/octet-stream',
]);
const MULTIPART = 'multipart/form-data';

/** The media type without parameters, lower-cased; '' when the header is absent. */
export function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body exceeds the limit of ${limit} bytes. Downscale or recompress the image before sending it.`);
}

async function imageFromMultipart(body: Uint8Array<ArrayBuffer>, contentType: string): Promise<Uint8Array> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (cause) {
    throw new InvalidArgumentError('The multipart/form-data body could not be parsed. Check the boundary and the part headers.', { cause });
  }
  const part = form.get(IMAGE_FIELD);
  if (part === null) throw new InvalidArgumentError(`The multipart body has no field "${IMAGE_FIELD}". Send the image as a file in the field "${IMAGE_FIELD}" (curl -F ${IMAGE_FIELD}=@photo.jpg).`);
  if (typeof part === 'string') throw new InvalidArgumentError(`The field "${IMAGE_FIELD}" must be a file upload, not a text value.`);
  return new Uint8Array(await part.arrayBuffer());
}

/** The image bytes of a classify request; throws the typed error for each way a body can be wrong. */
export async function readImageUpload(request: Request, maxBodyBytes: number): Promise<Uint8Array> {
  const contentType = request.headers.get('content-type');
  const type = mediaType(contentType);
  const isMultipart = type === MULTIPART;
  if (type !== '' && !isMultipart && !RAW_IMAGE_TYPES.has(type)) {
    // curl --data-binary sends this type unless told otherwise: the most common way to get here.
    const hint = type === 'application/x-www-form-urlencoded' ? ' (with curl --data-binary, add -H "Content-Type: image/jpeg")' : '';
    throw new UnsupportedMediaTypeError(`Content-Type ${type} is not supported${hint}. Send the image as image/jpeg, image/png, image/webp, image/gif, image/bmp, image/avif or application/octet-stream, or as multipart/form-data with a file field "${IMAGE_FIELD}".`);
  }
  const body = await readRequestBody(request, maxBodyBytes, () => tooLarge(maxBodyBytes));
  const bytes = isMultipart ? await imageFromMultipart(body, contentType!) : body;
  if (bytes.byteLength === 0) throw new InvalidImageError('The image is empty. Send the image file\'s bytes (JPEG, PNG, WebP, GIF, BMP or AVIF) as the request body.');
  return bytes;
}
