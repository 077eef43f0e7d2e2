// What the trainer needs from a dataset: random batches of NCHW float images in [-1, 1] with integer labels.
// Both the procedural shapes and an image folder implement it, so the training loop never knows which it has.
import type { Rng } from '../../jit/random';

export interface Batch {
  /** [B, 3, S, S] NCHW, float32 in [-1, 1]. */
  images: Float32Array;
  /** [B] class indices in [0, numClasses). */
  labels: Int32Array;
}

export interface Dataset {
  readonly kind: 'builtin' | 'folder';
  readonly imageSize: number;
  readonly numClasses: number;
  readonly classNames: string[];
  /** Number of distinct items (Infinity for the procedural set). */
  readonly size: number;
  /** Deterministic given the rng state: draws a batch. */
  batch(rng: Rng, batchSize: number): Batch;
  /** One line, e.g. "built-in shapes: 8 classes, 64 px". */
  describe(): string;
}

/** Throws unless batchSize is a positive integer; shared so both datasets word the error the same way. */
export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`Batch size must be a positive integer, got ${batchSize}; pass a value such as 32.`);
  }
}
