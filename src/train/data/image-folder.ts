/**
 * An image folder dataset: DIR/<label>/<image files>, as tenants hand them over.
 * Everything is sorted by name so that sampling with a seed is reproducible across machines.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, PromptEdgeError } from '../../core/errors.ts';
import { decodeImage, type ExifMode, type RgbImage } from '../../core/image/decode.ts';
import { readOrientation, type Orientation } from '../../core/image/exif-orientation.ts';
import { readImageHeader } from '../../core/image/image-header.ts';
import { initNodeImageCodecs } from '../image-codecs-node.ts';

export interface ImageItem {
  readonly path: string;
  readonly labelIndex: number;
}

export interface ImageFolder {
  readonly root: string;
  /** Class names: the sub-folder names, sorted. */
  readonly labels: readonly string[];
  readonly items: readonly ImageItem[];
}

/** Text used for a label inside prompts: CoOp's `name.replace("_", " ")`. */
export function promptName(label: string): string {
  return label.replace(/_/g, ' ').trim();
}

function normalisedKey(label: string): string {
  return promptName(label).toLowerCase().replace(/\s+/g, ' ');
}

export function scanImageFolder(dirArg: string, opts: { minClasses?: number } = {}): ImageFolder {
  const root = resolve(dirArg);
  if (!existsSync(root)) throw new DataError(`data folder not found: ${root}`);
  if (!statSync(root).isDirectory()) throw new DataError(`data path is not a folder: ${root} (expected DIR/<label>/<images>)`);
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  // Follow symlinks: datasets are often assembled from links into a shared image store.
  const isDir = (e: { name: string; isDirectory(): boolean; isSymbolicLink(): boolean }, parent: string) =>
    e.isDirectory() || (e.isSymbolicLink() && statSync(join(parent, e.name), { throwIfNoEntry: false })?.isDirectory() === true);
  const isFile = (e: { name: string; isFile(): boolean; isSymbolicLink(): boolean }, parent: string) =>
    e.isFile() || (e.isSymbolicLink() && statSync(join(parent, e.name), { throwIfNoEntry: false })?.isFile() === true);
  const classDirs = entries.filter((e) => isDir(e, root)).map((e) => e.name).sort();
  const minClasses = opts.minClasses ?? 2;
  if (classDirs.length < minClasses) {
    throw new DataError(`${root} has ${classDirs.length} class folder(s); at least ${minClasses} are needed (DIR/<label>/<images>).`);
  }
  const seen = new Map<string, string>();
  for (const label of classDirs) {
    const key = normalisedKey(label);
    const other = seen.get(key);
    if (other !== undefined) throw new DataError(`class folders "${other}" and "${label}" in ${root} name the same label after normalisation ("${key}"). Merge or rename one.`);
    seen.set(key, label);
  }
  const items: ImageItem[] = [];
  classDirs.forEach((label, labelIndex) => {
    const dir = join(root, label);
    const files = readdirSync(dir, { withFileTypes: true }).filter((e) => isFile(e, dir) && !e.name.startsWith('.')).map((e) => e.name).sort();
    if (files.length === 0) throw new DataError(`class folder is empty: ${dir}`);
    for (const f of files) items.push({ path: join(dir, f), labelIndex });
  });
  return { root, labels: classDirs, items };
}

export interface LoadOptions {
  /** Skip undecodable files with a warning instead of failing. */
  skipBadImages?: boolean;
  onWarning?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
  maxPixels?: number;
  /** EXIF orientation, as the API's ?exif= (default apply). */
  exif?: ExifMode;
}

export interface LoadedImage {
  readonly item: ImageItem;
  readonly image: RgbImage;
  /** The raw file bytes (hashed for the feature cache). */
  readonly bytes: Uint8Array;
  /** The EXIF orientation applied to the stored pixels (1: none), part of the feature cache key. */
  readonly orientation: Orientation;
}

export async function loadImages(items: readonly ImageItem[], opts: LoadOptions = {}): Promise<LoadedImage[]> {
  await initNodeImageCodecs();
  const out: LoadedImage[] = [];
  let done = 0;
  for (const item of items) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(item.path));
    } catch (cause) {
      const msg = `cannot read ${item.path}: ${(cause as Error).message}`;
      if (!opts.skipBadImages) throw new DataError(`${msg} (pass --skip-bad-images to skip such files)`, { cause });
      opts.onWarning?.(`skipping ${msg}`);
      continue;
    }
    try {
      const exif = opts.exif ?? 'apply';
      const image = await decodeImage(bytes, { ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}), exif });
      const orientation = exif === 'ignore' ? 1 : readOrientation(bytes, readImageHeader(bytes).format);
      out.push({ item, image, bytes, orientation });
    } catch (cause) {
      if (!(cause instanceof PromptEdgeError)) throw cause;
      const msg = `${item.path} is not a usable image: ${cause.message}`;
      if (!opts.skipBadImages) throw new DataError(`${msg} (pass --skip-bad-images to skip such files)`, { cause });
      opts.onWarning?.(`skipping ${msg}`);
    }
    opts.onProgress?.(++done, items.length);
  }
  return out;
}

/**
 * Checks every file of the folder is a readable JPEG/PNG (header only) before anything is sampled,
 * so that a bad file is reported whatever the seed picks. With skipBadImages the bad files are
 * dropped with a warning; a class left empty is still an error.
 */
export function checkImageFiles(folder: ImageFolder, opts: Pick<LoadOptions, 'skipBadImages' | 'onWarning'> = {}): ImageFolder {
  const good: ImageItem[] = [];
  for (const item of folder.items) {
    let problem: string | undefined;
    try {
      const fd = readFileSync(item.path);
      readImageHeader(new Uint8Array(fd.buffer, fd.byteOffset, fd.byteLength));
    } catch (cause) {
      problem = cause instanceof PromptEdgeError ? `${item.path} is not a usable image: ${cause.message}` : `cannot read ${item.path}: ${(cause as Error).message}`;
    }
    if (problem === undefined) good.push(item);
    else if (opts.skipBadImages) opts.onWarning?.(`skipping ${problem}`);
    else throw new DataError(`${problem} (pass --skip-bad-images to skip such files)`);
  }
  folder.labels.forEach((label, c) => {
    if (!good.some((it) => it.labelIndex === c)) throw new DataError(`class folder has no usable image: ${join(folder.root, label)}`);
  });
  return { ...folder, items: good };
}
