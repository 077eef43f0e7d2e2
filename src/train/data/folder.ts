// An image folder in the torchvision ImageFolder layout: <folder>/<class>/<image>, class index = position of the
// class subfolder in sorted order. Images are decoded once with sharp, centre-cropped and resized to the training
// resolution, and kept in memory as bytes (4x smaller than floats); batches are converted on demand.
//
// Decisions worth knowing:
// - Class folders are searched recursively (as torchvision does); symlinked subfolders are not followed, to
//   avoid cycles. Names starting with '.' (.DS_Store, .git) are ignored silently.
// - Only .png, .jpg, .jpeg and .webp files are decoded; anything else is skipped and listed in `skipped`.
// - A class folder without a single readable image is left out (it would be a label the model never sees), so
//   class indices are the sorted names of the classes that have images; the folder is listed in `skipped`.
// - Transparent images are flattened onto white; EXIF orientation is applied.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { Rng } from '../../jit/random';
import { checkBatchSize, type Batch, type Dataset } from './dataset';

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface FolderDataset extends Dataset {
  readonly kind: 'folder';
  /** Absolute path of the dataset folder. */
  readonly dir: string;
  /** Files (and empty class folders) that were not used, with why. */
  readonly skipped: SkippedFile[];
  /** Number of images per class, indexed like classNames. */
  readonly imagesPerClass: number[];
  /** The class of each image [size]. */
  readonly labels: Int32Array;
  /** The images at these indices (in [0, size)), in order and never flipped: fixed sets of real images. */
  take(indices: ArrayLike<number>): Batch;
}

export interface FolderOptions {
  /** Mirror each drawn image left-right with probability 0.5. */
  hflip?: boolean;
  /** Called after each file is decoded or skipped. */
  onProgress?: (done: number, total: number) => void;
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);
const LAYOUT = '<folder>/<class>/<image>.png';
/** Files decoded at once: enough to keep sharp's threads busy, few enough to bound memory on huge photos. */
const DECODE_CONCURRENCY = 4;

/** byte -> [-1, 1], the inverse of io/png's unitToByte. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 127.5 - 1);

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0; // code-unit order, like Python's sorted(), independent of locale
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** Every regular file under dir (recursively, sorted, hidden entries and symlinked folders left out). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = (await fs.promises.readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (isHidden(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push(full);
    else if (entry.isSymbolicLink()) {
      const target = await fs.promises.stat(full).catch(() => null);
      if (target?.isFile()) files.push(full);
    }
  }
  return files;
}

/** Decodes one image to HWC RGB bytes [size, size, 3], centre-cropped to a square; throws if it cannot. */
async function decodeSquare(file: string, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(file)
    .autoOrient()
    .resize(size, size, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels} instead of ${size}x${size}x3`);
  }
  return new Uint8Array(data); // a right-sized copy, so no larger backing buffer is kept alive
}

/** Runs fn over items with at most `limit` in flight; results keep the input order. fn must not throw. */
async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0];
}

/** The image files of a dataset folder (one subfolder per class), counted without decoding them. */
export async function countImageFiles(dir: string): Promise<number> {
  const root = path.resolve(dir);
  let n = 0;
  for (const entry of await fs.promises.readdir(root, { withFileTypes: true })) {
    if (isHidden(entry.name) || !entry.isDirectory()) continue;
    for (const file of await listFiles(path.join(root, entry.name))) if (IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase())) n++;
  }
  return n;
}

export async function loadFolderDataset(dir: string, imageSize: number, opts: FolderOptions = {}): Promise<FolderDataset> {
  if (!Number.isInteger(imageSize) || imageSize < 1) {
    throw new Error(`Image size must be a positive integer, got ${imageSize}; use e.g. 32 or 64.`);
  }
  const root = path.resolve(dir);
  const stat = await fs.promises.stat(root).catch(() => null);
  if (!stat) throw new Error(`Dataset folder ${root} does not exist; check the path, or pass a folder laid out as ${LAYOUT}.`);
  if (!stat.isDirectory()) throw new Error(`Dataset path ${root} is a file, not a folder; pass a folder laid out as ${LAYOUT}.`);

  const skipped: SkippedFile[] = [];
  const classDirs: string[] = [];
  const rootEntries = (await fs.promises.readdir(root, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  for (const entry of rootEntries) {
    if (isHidden(entry.name)) continue;
    if (entry.isDirectory()) classDirs.push(entry.name);
    else skipped.push({ file: path.join(root, entry.name), reason: 'not inside a class subfolder' });
  }
  if (classDirs.length === 0) {
    throw new Error(`Dataset folder ${root} has no class subfolders; put the images in one subfolder per class, laid out as ${LAYOUT}.`);
  }

  // Candidate files with the index of their class folder; non-image extensions are skipped without decoding.
  const candidates: { file: string; folderIndex: number }[] = [];
  for (let folderIndex = 0; folderIndex < classDirs.length; folderIndex++) {
    for (const file of await listFiles(path.join(root, classDirs[folderIndex]))) {
      if (IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase())) candidates.push({ file, folderIndex });
      else skipped.push({ file, reason: 'not a PNG, JPEG or WebP file' });
    }
  }

  let done = 0;
  opts.onProgress?.(0, candidates.length);
  const decoded = await mapBounded(candidates, DECODE_CONCURRENCY, async ({ file }) => {
    let pixels: Uint8Array | null = null;
    try {
      pixels = await decodeSquare(file, imageSize);
    } catch (err) {
      skipped.push({ file, reason: `could not decode: ${firstLine(err)}` });
    }
    opts.onProgress?.(++done, candidates.length);
    return pixels;
  });

  // Keep only class folders with at least one image; their sorted order gives the class indices.
  const countPerFolder = new Array<number>(classDirs.length).fill(0);
  decoded.forEach((pixels, i) => {
    if (pixels) countPerFolder[candidates[i].folderIndex]++;
  });
  const classOfFolder = new Array<number>(classDirs.length).fill(-1);
  const classNames: string[] = [];
  const imagesPerClass: number[] = [];
  classDirs.forEach((name, folderIndex) => {
    if (countPerFolder[folderIndex] === 0) {
      skipped.push({ file: path.join(root, name), reason: 'class folder has no readable images, so the class is left out' });
      return;
    }
    classOfFolder[folderIndex] = classNames.length;
    classNames.push(name);
    imagesPerClass.push(countPerFolder[folderIndex]);
  });

  const images: Uint8Array[] = []; // each HWC [S, S, 3]
  const labelList: number[] = [];
  decoded.forEach((pixels, i) => {
    if (!pixels) return;
    images.push(pixels);
    labelList.push(classOfFolder[candidates[i].folderIndex]);
  });
  if (images.length === 0) {
    // A decode failure says more than a wrong extension, so it is the preferred example.
    const files = skipped.filter((s) => s.reason !== 'not inside a class subfolder' && !s.reason.startsWith('class folder'));
    const example = files.find((s) => s.reason.startsWith('could not decode')) ?? files[0];
    const hint = example ? ` (${files.length} file${files.length === 1 ? '' : 's'} skipped, e.g. ${example.file}: ${example.reason})` : '';
    throw new Error(`Dataset folder ${root} has no readable images${hint}; add PNG, JPEG or WebP files laid out as ${LAYOUT}.`);
  }
  skipped.sort((a, b) => byName(a.file, b.file)); // decoding finishes out of order; keep the list stable

  const labels = Int32Array.from(labelList);
  const hflip = opts.hflip ?? false;
  const plane = imageSize * imageSize;
  /** The images at `picks`, mirrored where `flips` is 1, as NCHW floats. */
  const gather = (picks: ArrayLike<number>, flips: ArrayLike<number>): Batch => {
    const out = new Float32Array(picks.length * 3 * plane); // [B, 3, S, S]
    const outLabels = new Int32Array(picks.length);
    for (let b = 0; b < picks.length; b++) {
      const src = images[picks[b]]; // HWC [S, S, 3]
      outLabels[b] = labels[picks[b]];
      const base = b * 3 * plane;
      for (let y = 0; y < imageSize; y++) {
        for (let x = 0; x < imageSize; x++) {
          const s = 3 * (y * imageSize + (flips[b] ? imageSize - 1 - x : x));
          const d = base + y * imageSize + x;
          out[d] = BYTE_TO_UNIT[src[s]];
          out[d + plane] = BYTE_TO_UNIT[src[s + 1]];
          out[d + 2 * plane] = BYTE_TO_UNIT[src[s + 2]];
        }
      }
    }
    return { images: out, labels: outLabels };
  };
  const summary =
    `folder ${root}: ${images.length} image${images.length === 1 ? '' : 's'} in ${classNames.length} ` +
    `class${classNames.length === 1 ? '' : 'es'} ` +
    (skipped.length === 0 ? '(no files skipped)' : `(${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped)`);

  return {
    kind: 'folder',
    dir: root,
    imageSize,
    numClasses: classNames.length,
    classNames,
    size: images.length,
    skipped,
    imagesPerClass,
    labels,
    batch(rng: Rng, batchSize: number): Batch {
      checkBatchSize(batchSize);
      const picks = new Int32Array(batchSize);
      const flips = new Uint8Array(batchSize);
      for (let b = 0; b < batchSize; b++) {
        // Sampling with replacement; the rng is always consumed in the same order (index, then flip).
        picks[b] = rng.int(images.length);
        flips[b] = hflip && rng.uniform() < 0.5 ? 1 : 0;
      }
      return gather(picks, flips);
    },
    take(indices: ArrayLike<number>): Batch {
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i];
        if (!(Number.isInteger(index) && index >= 0 && index < images.length)) throw new Error(`Image index ${index} is outside this folder's ${images.length} images.`);
      }
      return gather(indices, new Uint8Array(indices.length));
    },
    describe(): string {
      return summary;
    },
  };
}
