// The feature network of the quality metrics: a small CNN trained on the run's own data (its classes, or for a
// one-class folder which of four rotations an image had), as FID with a LeNet is done on MNIST. Its penultimate
// layer gives the features of the Fréchet distance and of precision/recall; its predictions give class accuracy.
// Training is deterministic from the seed (seeded initialisation and batches, single-threaded wasm kernels) and
// takes tens of seconds on one core; the result is cached under a key of the data set's content, the resolution
// and FEATURE_NET_VERSION, with its held-out accuracy beside it.
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic';
import { encodeSafetensors, readSafetensors } from '../io/safetensors';
import { linear } from '../jit/tfOps';
import { Rng } from '../jit/random';
import { AdamW } from '../train/adamw';
import { conv3x3, conv3x3FirstLayer } from './conv';
import type { FeatureTask, RealImages } from './realImages';

/** Bump when the architecture or the training recipe changes: cached networks of other versions are not used. */
export const FEATURE_NET_VERSION = 1;
/** The network sees every image at this side (average-pooled or resized from the data set's resolution). */
export const FEATURE_INPUT = 32;
/** Channels of the three conv stages (each halves the side: 32 -> 16 -> 8 -> 4). */
const WIDTHS = [16, 32, 64];
/** Width of the penultimate layer: the feature dimension. */
export const FEATURE_DIM = 64;

export interface FeatureTraining {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
}

export const FEATURE_TRAINING: FeatureTraining = { steps: 400, batch: 64, lr: 5e-3, seed: 0 };

const FORMAT = 'jit-explorer-feature-net/1';

/** What is known about a trained feature network; stored in its file and as <key>.json beside it. */
export interface FeatureNetRecord {
  format: typeof FORMAT;
  version: number;
  key: string;
  task: FeatureTask;
  /** Outputs of the classifier (the data set's classes, or 4 rotations). */
  classes: number;
  dataset: string;
  imageSize: number;
  /** Fraction of held-out real images classified correctly. */
  heldOutAccuracy: number;
  heldOutImages: number;
  training: FeatureTraining;
  /** Seconds the training took. */
  seconds: number;
  created: string;
}

/** Parameter names and NHWC / [in, out] shapes. */
function paramShapes(classes: number): [string, number[]][] {
  const shapes: [string, number[]][] = [];
  let cin = 3;
  WIDTHS.forEach((w, i) => {
    shapes.push([`conv${i}.weight`, [3, 3, cin, w]], [`conv${i}.bias`, [w]]);
    cin = w;
  });
  const side = FEATURE_INPUT >> WIDTHS.length;
  shapes.push(['fc.weight', [side * side * cin, FEATURE_DIM]], ['fc.bias', [FEATURE_DIM]], ['head.weight', [FEATURE_DIM, classes]], ['head.bias', [classes]]);
  return shapes;
}

/** He-normal weights for the ReLU layers, zero biases. */
function initialParams(classes: number, seed: number): Map<string, Float32Array> {
  const rng = new Rng(`feature-net:${seed}`);
  const m = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(classes)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('.weight')) rng.fillNormal(data, Math.sqrt(2 / shape.slice(0, -1).reduce((a, b) => a * b, 1)));
    m.set(name, data);
  }
  return m;
}

/** NCHW images [n, 3, S, S] in [-1, 1] -> NHWC [n, 32, 32, 3]. */
function toInput(images: Float32Array, n: number, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(images, [n, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D;
    if (size === FEATURE_INPUT) return x;
    // Downsampling by a whole factor averages (no aliasing); other sizes are resized bilinearly.
    return size % FEATURE_INPUT === 0 ? tf.avgPool(x, size / FEATURE_INPUT, size / FEATURE_INPUT, 'valid') : tf.image.resizeBilinear(x, [FEATURE_INPUT, FEATURE_INPUT]);
  });
}

/**
 * x [n, 32, 32, 3] -> features [n, FEATURE_DIM] and logits [n, classes]. The features are log(1 + ReLU(fc)): the
 * penultimate activations are heavy-tailed (high-frequency classes such as the stripes reach several times the
 * median norm), and a Gaussian fit of the raw values was dominated by a few images, so two sets of 256 real images
 * lay 30-180 apart; after the log they lie 0.3-0.7 apart, while images at 70% contrast score 1.7.
 */
function forward(p: Map<string, tf.Tensor>, x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  let h = x;
  WIDTHS.forEach((_, i) => {
    const conv = i === 0 ? conv3x3FirstLayer : conv3x3;
    h = tf.avgPool(tf.relu(tf.add(conv(h, p.get(`conv${i}.weight`) as tf.Tensor4D), p.get(`conv${i}.bias`)!)) as tf.Tensor4D, 2, 2, 'valid') as tf.Tensor4D;
  });
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  const hidden = tf.relu(linear(flat, p.get('fc.weight')!, p.get('fc.bias'))) as tf.Tensor2D;
  return { features: tf.log1p(hidden), logits: linear(hidden, p.get('head.weight')!, p.get('head.bias')) as tf.Tensor2D };
}

/** Images embedded by the feature network. */
export interface Embedding {
  /** [n, FEATURE_DIM] row-major. */
  features: Float32Array;
  /** [n] the classifier's choice. */
  predicted: Int32Array;
  n: number;
}

export class FeatureNet {
  private disposed = false;

  private constructor(private readonly params: Map<string, tf.Tensor>, readonly record: FeatureNetRecord) {}

  static fromArrays(params: Map<string, Float32Array>, record: FeatureNetRecord): FeatureNet {
    const shapes = new Map(paramShapes(record.classes));
    const m = new Map<string, tf.Tensor>();
    for (const [name, shape] of shapes) {
      const data = params.get(name);
      if (!data || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`The feature network has no tensor ${name} of shape [${shape.join(', ')}].`);
      m.set(name, tf.tensor(data, shape));
    }
    return new FeatureNet(m, record);
  }

  /** NCHW images [n, 3, S, S] (S = record.imageSize) in [-1, 1] -> features and predicted classes, in chunks. */
  async embed(images: Float32Array, n: number): Promise<Embedding> {
    if (this.disposed) throw new Error('This feature network was disposed.');
    const S = this.record.imageSize;
    const stride = 3 * S * S;
    if (images.length !== n * stride) throw new Error(`The feature network got ${images.length} values for ${n} images of ${S} px (needs ${n * stride}).`);
    const features = new Float32Array(n * FEATURE_DIM);
    const predicted = new Int32Array(n);
    const CHUNK = 256;
    for (let i = 0; i < n; i += CHUNK) {
      const m = Math.min(CHUNK, n - i);
      const [f, c] = tf.tidy(() => {
        const out = forward(this.params, toInput(images.subarray(i * stride, (i + m) * stride), m, S));
        return [out.features, tf.argMax(out.logits, 1)];
      });
      features.set((await f.data()) as Float32Array, i * FEATURE_DIM);
      predicted.set(Int32Array.from(await c.data()), i);
      tf.dispose([f, c]);
    }
    return { features, predicted, n };
  }

  async arrays(): Promise<Map<string, Float32Array>> {
    const m = new Map<string, Float32Array>();
    for (const [name, t] of this.params) m.set(name, (await t.data()) as Float32Array);
    return m;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...this.params.values()]);
  }
}

let instances = 0;

/** Trains a feature network on the real images' task and measures its held-out accuracy. */
export async function trainFeatureNet(real: RealImages, key: string, training: FeatureTraining = FEATURE_TRAINING,
  onProgress?: (step: number, steps: number) => void): Promise<FeatureNet> {
  const started = performance.now();
  const S = real.dataset.imageSize;
  const prefix = `featureNet${++instances}/`;
  const vars = new Map<string, tf.Variable>();
  for (const [name, data] of initialParams(real.taskClasses, training.seed)) {
    const shape = paramShapes(real.taskClasses).find(([n]) => n === name)![1];
    vars.set(name, tf.variable(tf.tensor(data, shape), true, prefix + name));
  }
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const rng = new Rng(`feature-net:data:${training.seed}`);
  try {
    for (let step = 1; step <= training.steps; step++) {
      const batch = real.trainBatch(rng, training.batch);
      // Linear warm-up over the first 5%, then cosine decay to zero.
      const warm = Math.max(1, Math.round(training.steps / 20));
      const lr = step <= warm ? (training.lr * step) / warm : 0.5 * training.lr * (1 + Math.cos((Math.PI * (step - warm)) / (training.steps - warm)));
      const grads = tf.tidy(() => {
        const x = toInput(batch.images, training.batch, S);
        const y = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), real.taskClasses);
        const { grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, forward(vars, x).logits) as tf.Scalar, [...vars.values()]);
        return g;
      });
      const byName = new Map([...vars.keys()].map((name) => [name, grads[prefix + name]]));
      opt.apply(byName, lr);
      tf.dispose(Object.values(grads));
      onProgress?.(step, training.steps);
      if (step % 25 === 0) await new Promise<void>((resolve) => setImmediate(resolve)); // let stop requests in
    }
    const arrays = new Map<string, Float32Array>();
    for (const [name, v] of vars) arrays.set(name, (await v.data()) as Float32Array);
    const record: FeatureNetRecord = {
      format: FORMAT, version: FEATURE_NET_VERSION, key, task: real.task, classes: real.taskClasses, dataset: real.dataset.describe(), imageSize: S,
      heldOutAccuracy: NaN, heldOutImages: 0, training, seconds: 0, created: new Date().toISOString(),
    };
    const net = FeatureNet.fromArrays(arrays, record);
    const held = real.heldOut();
    const { predicted, n } = await net.embed(held.images, held.labels.length);
    let right = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === held.labels[i]) right++;
    record.heldOutAccuracy = right / n;
    record.heldOutImages = n;
    record.seconds = (performance.now() - started) / 1000;
    return net;
  } finally {
    opt.dispose();
    tf.dispose([...vars.values()]);
  }
}

/** The cache key: data set content, resolution, task, training recipe and FEATURE_NET_VERSION. */
export function featureNetKey(real: RealImages, training: FeatureTraining = FEATURE_TRAINING): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ version: FEATURE_NET_VERSION, widths: WIDTHS, dim: FEATURE_DIM, input: FEATURE_INPUT, task: real.task, classes: real.taskClasses, training, data: real.fingerprint() }))
    .digest('hex')
    .slice(0, 16);
  const kind = real.dataset.kind === 'builtin' ? 'shapes' : 'folder';
  return `${kind}-${real.dataset.imageSize}px-${hash}`;
}

export interface FeatureNetCache {
  /** Folder of <key>.safetensors and <key>.json. */
  dir: string;
  onLog?: (message: string) => void;
  onProgress?: (step: number, steps: number) => void;
  training?: FeatureTraining;
}

/** The cached feature network for these images, trained (and cached) first if there is none or it is unreadable. */
export async function loadOrTrainFeatureNet(real: RealImages, cache: FeatureNetCache): Promise<FeatureNet> {
  const training = cache.training ?? FEATURE_TRAINING;
  const key = featureNetKey(real, training);
  const file = path.join(cache.dir, `${key}.safetensors`);
  if (fs.existsSync(file)) {
    try {
      return readFeatureNet(file, key);
    } catch (e) {
      cache.onLog?.(`Training the feature network again: the cached ${file} is unreadable (${e instanceof Error ? e.message : String(e)}).`);
    }
  }
  cache.onLog?.(`Training the quality metrics' feature network on ${real.dataset.describe()} (once; cached in ${cache.dir})...`);
  const net = await trainFeatureNet(real, key, training, cache.onProgress);
  const r = net.record;
  cache.onLog?.(`Feature network: ${(100 * r.heldOutAccuracy).toFixed(1)}% held-out accuracy on ${r.heldOutImages} real images (${r.task === 'rotation' ? 'which of 4 rotations' : `${r.classes} classes`}), trained in ${r.seconds.toFixed(0)} s.`);
  const arrays = await net.arrays();
  const shapes = paramShapes(r.classes);
  writeFileAtomic(file, encodeSafetensors(shapes.map(([name, shape]) => ({ name, shape, data: arrays.get(name)! })), { format: FORMAT, record: JSON.stringify(r) }));
  writeFileAtomic(path.join(cache.dir, `${key}.json`), JSON.stringify(r, null, 2) + '\n');
  return net;
}

function readFeatureNet(file: string, key: string): FeatureNet {
  const { metadata, tensors } = readSafetensors(file);
  if (metadata.format !== FORMAT || !metadata.record) throw new Error('it is not a feature network of this version');
  const record = JSON.parse(metadata.record) as FeatureNetRecord;
  if (record.key !== key || record.version !== FEATURE_NET_VERSION) throw new Error('it was made for other data or another version');
  return FeatureNet.fromArrays(new Map([...tensors].map(([name, t]) => [name, t.data])), record);
}
