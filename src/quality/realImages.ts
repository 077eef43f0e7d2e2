// The real images the quality metrics use, drawn from the run's own data set in fixed, disjoint sets: the feature
// network's training and held-out images, and the two reference sets A and B of the Fréchet distance and its floor.
// On the procedural shapes every set is its own random stream (two continuous-valued draws never coincide); an image
// folder is split once by a seeded permutation, so its sets never share an image. A and B have the same number of
// images of every class: with random class counts, two real sets of 256 shapes lay up to 4x further apart than with
// equal ones, so the floor was as much about the luck of the draw as about the metric.
import { createHash } from 'crypto';
import { Rng } from '../jit/random';
import type { Batch, Dataset } from '../train/data/dataset';
import type { FolderDataset } from '../train/data/folder';

/** What the feature network learns: the data set's classes, or (one class) which of four rotations an image had. */
export type FeatureTask = 'classes' | 'rotation';

/** Held-out images for the feature network's accuracy: at most this many (the procedural set has any number). */
const HELD_OUT = 1024;
/** Share of an image folder held out from the feature network's training. */
const HELD_OUT_SHARE = 0.1;

export interface RealImages {
  readonly dataset: Dataset;
  readonly task: FeatureTask;
  /** Labels of the feature network's task: the classes, or the 4 rotations. */
  readonly taskClasses: number;
  /** The largest n for which two disjoint reference sets of n images exist. */
  readonly maxReference: number;
  /** A training batch for the feature network, labelled for its task. */
  trainBatch(rng: Rng, batchSize: number): Batch;
  /** The held-out images, labelled for the task. */
  heldOut(): Batch;
  /** Reference set A or B of n images (n <= maxReference); the same images at every call. */
  reference(set: 'a' | 'b', n: number): Batch;
  /** Changes whenever the images change (the procedural generator or the folder's content): part of the cache key. */
  fingerprint(): string;
}

export function realImages(dataset: Dataset): RealImages {
  return dataset.kind === 'folder' ? folderImages(dataset as FolderDataset) : proceduralImages(dataset);
}

function proceduralImages(ds: Dataset): RealImages {
  return {
    dataset: ds,
    task: 'classes',
    taskClasses: ds.numClasses,
    maxReference: Number.MAX_SAFE_INTEGER,
    trainBatch: (rng, b) => ds.batch(rng, b),
    heldOut: () => ds.batch(new Rng('quality:held-out'), HELD_OUT),
    reference: (set, n) => balancedDraw(ds, new Rng(`quality:reference-${set}`), n),
    fingerprint: () => hashImages([ds.batch(new Rng('quality:fingerprint'), 16)], ds),
  };
}

function folderImages(ds: FolderDataset): RealImages {
  if (ds.size < 2) throw new Error(`Sample quality needs at least 2 images in the data set, ${ds.dir} has ${ds.size}; add images to it.`);
  const order = permutation(ds.size, new Rng('quality:split'));
  const heldCount = Math.max(1, Math.min(HELD_OUT, Math.round(ds.size * HELD_OUT_SHARE)));
  const held = order.subarray(0, heldCount);
  const train = ds.size - heldCount > 0 ? order.subarray(heldCount) : order;
  const rotation = ds.numClasses === 1;
  const { a: refA, b: refB } = stratifiedHalves(ds, new Rng('quality:reference'));
  const half = refA.length;
  return {
    dataset: ds,
    task: rotation ? 'rotation' : 'classes',
    taskClasses: rotation ? 4 : ds.numClasses,
    maxReference: half,
    trainBatch(rng, b) {
      const picks = Int32Array.from({ length: b }, () => train[rng.int(train.length)]);
      const batch = ds.take(picks);
      return rotation ? rotateBatch(batch, ds.imageSize, Int32Array.from({ length: b }, () => rng.int(4))) : batch;
    },
    heldOut() {
      if (!rotation) return ds.take(held);
      // Every held-out image in all four rotations.
      const four = Int32Array.from({ length: 4 * held.length }, (_, i) => held[i >> 2]);
      return rotateBatch(ds.take(four), ds.imageSize, Int32Array.from(four, (_, i) => i & 3));
    },
    reference(set, n) {
      if (n > half) throw new Error(`Two disjoint sets of ${n} real images with the same classes need ${2 * n} images, half of each class in each set, but the data set allows ${half}; use n <= ${half}.`);
      return ds.take((set === 'a' ? refA : refB).subarray(0, n));
    },
    fingerprint() {
      const batches: Batch[] = [];
      for (let i = 0; i < ds.size; i += 256) batches.push(ds.take(Int32Array.from({ length: Math.min(256, ds.size - i) }, (_, k) => i + k)));
      return hashImages(batches, ds);
    },
  };
}

/** n images with as equal class counts as n allows (the first n % K classes one more), drawn from the stream. */
export function balancedDraw(ds: Dataset, rng: Rng, n: number): Batch {
  const K = ds.numClasses;
  const quota = Array.from({ length: K }, (_, c) => Math.floor(n / K) + (c < n % K ? 1 : 0));
  const stride = 3 * ds.imageSize * ds.imageSize;
  const images = new Float32Array(n * stride);
  const labels = new Int32Array(n);
  let k = 0;
  while (k < n) {
    const b = ds.batch(rng, 64);
    for (let i = 0; i < b.labels.length && k < n; i++) {
      const c = b.labels[i];
      if (quota[c] === 0) continue;
      quota[c]--;
      images.set(b.images.subarray(i * stride, (i + 1) * stride), k * stride);
      labels[k++] = c;
    }
  }
  return { images, labels };
}

/**
 * Two disjoint index lists with the same count of every class (half of each class's images, rounded down), each
 * ordered so that any prefix mixes the classes in the folder's proportions.
 */
function stratifiedHalves(ds: FolderDataset, rng: Rng): { a: Int32Array; b: Int32Array } {
  const byClass: number[][] = ds.classNames.map(() => []);
  const { labels } = ds;
  for (const i of permutation(ds.size, rng)) byClass[labels[i]].push(i);
  const a: { index: number; key: number }[] = [];
  const b: { index: number; key: number }[] = [];
  for (const list of byClass) {
    const half = Math.floor(list.length / 2);
    for (let r = 0; r < half; r++) {
      const key = (r + 0.5) / half; // the r-th of `half` images of its class comes at fraction `key` of the list
      a.push({ index: list[r], key });
      b.push({ index: list[half + r], key });
    }
  }
  const order = (xs: typeof a) => Int32Array.from(xs.sort((x, y) => x.key - y.key || labels[x.index] - labels[y.index]), (x) => x.index);
  return { a: order(a), b: order(b) };
}

function permutation(n: number, rng: Rng): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function hashImages(batches: Batch[], ds: Dataset): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ kind: ds.kind, size: ds.imageSize, classes: ds.classNames }));
  for (const b of batches) {
    h.update(new Uint8Array(b.images.buffer, b.images.byteOffset, b.images.byteLength));
    h.update(new Uint8Array(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
  }
  return h.digest('hex');
}

/** Image i rotated by k[i] quarter turns counter-clockwise; labels become k. NCHW [B, 3, S, S]. */
export function rotateBatch(batch: Batch, size: number, k: Int32Array): Batch {
  const plane = size * size;
  const out = new Float32Array(batch.images.length);
  for (let i = 0; i < k.length; i++) {
    const base = i * 3 * plane;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        // Source pixel of output (y, x) after k counter-clockwise quarter turns.
        const [sy, sx] = k[i] === 0 ? [y, x] : k[i] === 1 ? [x, size - 1 - y] : k[i] === 2 ? [size - 1 - y, size - 1 - x] : [size - 1 - x, y];
        for (let c = 0; c < 3; c++) out[base + c * plane + y * size + x] = batch.images[base + c * plane + sy * size + sx];
      }
    }
  }
  return { images: out, labels: Int32Array.from(k) };
}
