// The bottleneck latent viewer's numbers. JiT embeds each patch (C p^2 pixels, 768 at p = 16) linearly into only
// d' dimensions (proj1) before the transformer sees it; the paper argues this works because clean patches lie near
// a low-dimensional manifold while noise does not. Here: proj1's rows as images ("basis patches"), its singular
// values and effective rank, the codes of real and noisy patches (PCA scatter, a "latent image" per image), and how
// much of a patch the d' codes keep against the best possible d'-dim linear projection (PCA of the patches).
import * as tf from '@tensorflow/tfjs-core';
import { JiTConfig, dims } from '../jit/config';
import { noisy } from '../jit/diffusion';
import { JiTNetwork } from '../jit/model';
import { linear } from '../jit/tfOps';
import { OfficialTensor, fromOfficial, paramSpecs } from '../jit/params';
import { Rng } from '../jit/random';
import { initialNoise } from '../jit/sampler';
import type { Batch } from '../train/data/dataset';
import { loadDataset } from '../train/data/load';
import type { WeightsChoice } from '../io/trainerState';
import { loadCheckpointWeights, proj1Of } from '../sampling/checkpointModel';
import {
  Matrix, RankSummary, centerColumns, effectiveRank, gramOfColumns, matrix, multiply, pca, pcaProject, pseudoInverseSpd, singularValues, transpose,
} from './linalg';

const PROJ1 = 'net.x_embedder.proj1.weight';

function checkProj1(proj1: OfficialTensor): { count: number; channels: number; patchSize: number; patchDim: number } {
  const [count, channels, p, q] = proj1.shape;
  if (proj1.shape.length !== 4 || p !== q || proj1.data.length !== count * channels * p * q) {
    throw new Error(`proj1 should be a [d', C, p, p] weight, got shape [${proj1.shape.join(', ')}].`);
  }
  return { count, channels, patchSize: p, patchDim: channels * p * p };
}

// ---------------------------------------------------------------------------------------------------------
// 1. Basis patches

export interface BasisPatches {
  /** d', C, p. */
  count: number;
  channels: number;
  patchSize: number;
  /** [d', C, p, p]: each row of proj1 divided by its own scale, so in [-1, 1] with 0 (a zero weight) drawn mid-grey. */
  tiles: Float32Array;
  /** [d']: the scale of each tile, max |w| over its row (row = tile * scale). */
  scales: number[];
  /** [d']: the L2 norm of each row, to compare tiles whose display scales differ. */
  norms: number[];
}

export function basisPatches(proj1: OfficialTensor): BasisPatches {
  const { count, channels, patchSize, patchDim } = checkProj1(proj1);
  const tiles = new Float32Array(proj1.data.length);
  const scales: number[] = [];
  const norms: number[] = [];
  for (let r = 0; r < count; r++) {
    const row = proj1.data.subarray(r * patchDim, (r + 1) * patchDim);
    let max = 0;
    let sq = 0;
    for (const v of row) {
      max = Math.max(max, Math.abs(v));
      sq += v * v;
    }
    // An all-zero row stays all zero rather than dividing by 0.
    for (let j = 0; j < patchDim; j++) tiles[r * patchDim + j] = max > 0 ? row[j] / max : 0;
    scales.push(max);
    norms.push(Math.sqrt(sq));
  }
  return { count, channels, patchSize, tiles, scales, norms };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Spectrum of the bottleneck map

export interface BottleneckSpectrum extends RankSummary {
  /** Singular values of proj1 as a d' x C p^2 matrix, descending [min(d', C p^2)]. */
  singularValues: number[];
  bottleneckDim: number;
  patchDim: number;
}

export function bottleneckSpectrum(proj1: OfficialTensor): BottleneckSpectrum {
  const { count, patchDim } = checkProj1(proj1);
  const s = singularValues(matrix(count, patchDim, proj1.data));
  return { singularValues: [...s], ...effectiveRank(s), bottleneckDim: count, patchDim };
}

// ---------------------------------------------------------------------------------------------------------
// 3. Codes of patches

export interface PatchCodes {
  /** [B N, C p^2]: every patch of every image (image-major, patches row-major), in (c, kh, kw) order as proj1. */
  patches: Matrix;
  /** [B N, d']: proj1 applied to each patch, exactly the network's first layer. */
  codes: Matrix;
}

/** The bottleneck's view of a batch: a network only for its patch layout, with proj1 in the model's layout. */
export class PatchCoder {
  readonly net: JiTNetwork;
  private readonly weight: tf.Tensor2D; // [C p^2, d']

  constructor(readonly model: JiTConfig, proj1: OfficialTensor) {
    const spec = paramSpecs(model).find((s) => s.name === PROJ1)!;
    if (proj1.shape.join() !== spec.shape.join()) throw new Error(`proj1 has shape [${proj1.shape.join(', ')}] but this model needs [${spec.shape.join(', ')}].`);
    this.net = new JiTNetwork(model);
    this.weight = tf.tensor2d(fromOfficial(spec, proj1.data), [spec.shape[1] * spec.shape[2] * spec.shape[3], spec.shape[0]]);
  }

  dispose(): void {
    this.net.dispose();
    this.weight.dispose();
  }

  /** images [B, C, S, S] -> patches and codes; patchify and proj1 as in JiTNetwork.forward. */
  async encode(images: tf.Tensor4D): Promise<PatchCodes> {
    const [patches, codes] = tf.tidy(() => {
      const x = this.net.patchify(images); // [B, N, C p^2]
      return [x, linear(x, this.weight)]; // [B, N, d']
    });
    try {
      const rows = images.shape[0] * this.net.d.numPatches;
      return {
        patches: matrix(rows, this.net.d.patchDim, (await patches.data()) as Float32Array),
        codes: matrix(rows, this.model.bottleneckDim, (await codes.data()) as Float32Array),
      };
    } finally {
      tf.dispose([patches, codes]);
    }
  }

  /** patches [B N, C p^2] in (c, kh, kw) order -> images [B, C, S, S], the inverse of patchify. */
  async decode(patches: Matrix): Promise<Float32Array> {
    const { model } = this;
    const d = this.net.d;
    const n = d.numPatches;
    if (patches.cols !== d.patchDim || patches.rows % n !== 0) throw new Error(`Expected rows of ${d.patchDim} values, a multiple of ${n} of them; got ${patches.rows} x ${patches.cols}.`);
    const B = patches.rows / n;
    const p2 = model.patchSize * model.patchSize;
    const img = tf.tidy(() => {
      // (c, kh, kw) -> (kh, kw, c), the order unpatchify (the official final layer) expects
      const x = tf.tensor4d(Float32Array.from(patches.data), [B, n, model.inChannels, p2]);
      return this.net.unpatchify(tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [B, n, p2 * model.inChannels]) as tf.Tensor3D);
    });
    try {
      return (await img.data()) as Float32Array;
    } finally {
      img.dispose();
    }
  }

}

export interface CodeScatter {
  colourBy: 'class' | 't';
  /** [P, 2]: each code's scores on the first two principal components of the codes shown. */
  points: Float32Array;
  /** [P]: the colour value of each point: its image's class, or its t. */
  values: Float32Array;
  /** [2]: share of the codes' variance on each axis. */
  explainedRatio: number[];
}

/** PCA scatter of codes [P, d'] fitted on those same codes; `values` [P] colour them. */
export function codeScatter(codes: Matrix, values: Float32Array, colourBy: CodeScatter['colourBy']): CodeScatter {
  if (values.length !== codes.rows) throw new Error(`${codes.rows} codes need ${codes.rows} colour values, got ${values.length}.`);
  const fit = pca(codes, 2);
  const scores = pcaProject(codes, fit);
  const points = new Float32Array(codes.rows * 2); // axes missing for degenerate codes stay 0
  for (let r = 0; r < codes.rows; r++) for (let c = 0; c < scores.cols; c++) points[2 * r + c] = scores.data[r * scores.cols + c];
  return { colourBy, points, values, explainedRatio: [0, 1].map((i) => fit.explainedRatio[i] ?? 0) };
}

export interface LatentImages {
  /** [B, 3, g, g]: each patch's scores on the codes' first three principal components as RGB, in [-1, 1]. */
  images: Float32Array;
  gridSize: number;
  /** [3]: the score mapped to full intensity per channel, 3 standard deviations over the batch (beyond it: clipped). */
  scales: number[];
  /** [3]: share of the codes' variance per channel. */
  explainedRatio: number[];
}

/** Latent images from codes [B g^2, d'] (image-major, patches row-major): one normalisation for the whole batch. */
export function latentImages(codes: Matrix, gridSize: number): LatentImages {
  const n = gridSize * gridSize;
  if (codes.rows % n !== 0) throw new Error(`${codes.rows} codes are not whole images of ${gridSize} x ${gridSize} patches.`);
  const B = codes.rows / n;
  const fit = pca(codes, 3);
  const scores = pcaProject(codes, fit); // [B n, k <= 3]
  const k = scores.cols;
  const scales = [0, 1, 2].map((c) => (c < k ? 3 * Math.sqrt(fit.variances[c]) : 0));
  const images = new Float32Array(B * 3 * n); // channels beyond the codes' rank stay 0 (grey)
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < n; j++) images[(b * 3 + c) * n + j] = Math.max(-1, Math.min(1, scores.data[(b * n + j) * k + c] / scales[c]));
    }
  }
  return { images, gridSize, scales, explainedRatio: [0, 1, 2].map((c) => fit.explainedRatio[c] ?? 0) };
}

// ---------------------------------------------------------------------------------------------------------
// 4. What the codes keep of a patch

export interface Reconstruction {
  /** ||X - X_hat||^2 / ||X - mean||^2 over all patches: 0 = nothing lost, 1 = only the mean patch kept. */
  error: number;
  /** [rows, C p^2] the reconstructed patches. */
  patches: Matrix;
}

/**
 * The best affine decoder from the codes: X_hat = mean_X + C_c B with B = (C_c^T C_c)^+ C_c^T X_c (least squares on
 * centred patches X_c and codes C_c). Nothing linear after proj1 (proj2 has a bias) can recover more from the codes.
 */
export function decodeFromCodes(patches: Matrix, codes: Matrix): Reconstruction {
  if (patches.rows !== codes.rows) throw new Error(`${patches.rows} patches but ${codes.rows} codes; there must be one code per patch.`);
  const { centered: xc, mean } = centerColumns(patches);
  const { centered: cc } = centerColumns(codes);
  const decoder = multiply(pseudoInverseSpd(gramOfColumns(cc)), multiply(transpose(cc), xc)); // [d', C p^2]
  const fitted = multiply(cc, decoder); // [rows, C p^2], centred
  return { error: relativeError(xc, fitted), patches: addRowVector(fitted, mean) };
}

export interface PcaReconstruction extends Reconstruction {
  /** The number of components kept (the bottleneck width, or the rank of the patches if smaller). */
  kept: number;
  /** [K + 1]: the error keeping 0, 1, ..., K components, K = the spectrum length: the optimum at every width. */
  errorByDim: number[];
}

/** The best possible k-dim affine projection of the patches (PCA): error = sum of the discarded variances / total. */
export function pcaReconstruction(patches: Matrix, k: number): PcaReconstruction {
  const fit = pca(patches, k);
  const scores = pcaProject(patches, fit); // [rows, kept]
  const fitted = multiply(scores, fit.components); // [rows, C p^2], centred
  const total = fit.totalVariance;
  const errorByDim = [1];
  let kept = 0;
  for (const v of fit.spectrum) {
    kept += v;
    errorByDim.push(total > 0 ? Math.max(0, (total - kept) / total) : 0);
  }
  const captured = fit.variances.reduce((a, v) => a + v, 0);
  return {
    error: total > 0 ? Math.max(0, (total - captured) / total) : 0,
    kept: fit.components.rows,
    errorByDim,
    patches: addRowVector(fitted, fit.mean),
  };
}

function relativeError(xc: Matrix, fitted: Matrix): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < xc.data.length; i++) {
    num += (xc.data[i] - fitted.data[i]) ** 2;
    den += xc.data[i] ** 2;
  }
  return den > 0 ? num / den : 0; // identical patches: the mean alone rebuilds them
}

function addRowVector(m: Matrix, v: Float64Array): Matrix {
  const out = matrix(m.rows, m.cols, m.data);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out.data[r * m.cols + c] += v[c];
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Everything for one checkpoint

export interface BottleneckOptions {
  /** Default 'ema1', as sampling. */
  weights?: WeightsChoice;
  /** Images drawn from the run's dataset; default: as many as make about 1024 patches, 1 to 16. */
  images?: number;
  /** Seed of the image draw and of the noise of the noisy patches; the same seed gives the same images at every checkpoint. */
  seed?: number;
  /** Times at which the noisy patches z_t = t x + (1 - t) e are coded for the scatter coloured by t (t = 1: clean). */
  tValues?: number[];
  /** Images to use instead of a draw from the run's dataset (needed for a checkpoint with no run configuration). */
  batch?: Batch;
  classNames?: string[];
}

export interface BottleneckAnalysis {
  step?: number;
  weights: WeightsChoice;
  imageSize: number;
  channels: number;
  patchSize: number;
  gridSize: number;
  bottleneckDim: number;
  patchDim: number;
  basis: BasisPatches;
  spectrum: BottleneckSpectrum;
  /** [B, C, S, S] the images analysed, with their labels [B] and the dataset's class names. */
  images: Float32Array;
  labels: number[];
  classNames: string[];
  latent: LatentImages;
  /** Clean codes coloured by class. */
  classScatter: CodeScatter;
  /** Codes of z_t at every t of `tValues`, one PCA over all of them, coloured by t. */
  tScatter: CodeScatter;
  tValues: number[];
  /** The codes' best affine decoder: error and the images rebuilt from the codes [B, C, S, S]. */
  bottleneck: { error: number; images: Float32Array };
  /** The best d'-dim linear projection of the same patches: error, error at every width, images [B, C, S, S]. */
  pca: { error: number; kept: number; errorByDim: number[]; images: Float32Array };
}

const TARGET_PATCHES = 1024;
export const DEFAULT_T_VALUES = [0, 0.25, 0.5, 0.75, 1];

/** All four panels of the bottleneck viewer for one checkpoint. */
export async function analyseBottleneck(checkpoint: string, opts: BottleneckOptions = {}): Promise<BottleneckAnalysis> {
  const which = opts.weights ?? 'ema1';
  const ck = await loadCheckpointWeights(checkpoint, which);
  const { model } = ck;
  const d = dims(model);
  const proj1 = proj1Of(ck.weights);
  const seed = opts.seed ?? 0;
  const tValues = opts.tValues ?? DEFAULT_T_VALUES;
  if (!tValues.length || tValues.some((t) => !(t >= 0 && t <= 1))) throw new Error(`t values must lie in [0, 1], got [${tValues.join(', ')}].`);

  let batch = opts.batch;
  let classNames = opts.classNames ?? [];
  if (!batch) {
    if (!ck.run) throw new Error(`${checkpoint} records no training configuration, so its dataset is unknown; pass a batch of images.`);
    const count = opts.images ?? Math.max(1, Math.min(16, Math.floor(TARGET_PATCHES / d.numPatches)));
    if (!Number.isInteger(count) || count < 1) throw new Error(`The number of images must be a positive whole number, got ${count}.`);
    const ds = await loadDataset(ck.run.data, model.inputSize);
    batch = ds.batch(new Rng(`bottleneck:${seed}`), count);
    classNames = ds.classNames;
  }
  const B = batch.labels.length;
  const imageElems = model.inChannels * model.inputSize * model.inputSize;
  if (B < 1 || batch.images.length !== B * imageElems) throw new Error(`The batch must hold ${model.inChannels} x ${model.inputSize} x ${model.inputSize} images, one per label.`);
  if (B * d.numPatches < 2) throw new Error('The analysis needs at least 2 patches; use more images.');

  const coder = new PatchCoder(model, proj1);
  const x = tf.tensor4d(batch.images, [B, model.inChannels, model.inputSize, model.inputSize]);
  try {
    const clean = await coder.encode(x);
    const patchLabels = Float32Array.from({ length: clean.codes.rows }, (_, r) => batch!.labels[Math.floor(r / d.numPatches)]);

    // Noisy patches: the same images and one noise draw at every t, so the scatter shows the path from noise to data.
    const e = tf.tensor4d(initialNoise(new Rng(`bottleneck-noise:${seed}`), B * imageElems, ck.diffusion.noiseScale), x.shape);
    const noisyCodes: Matrix[] = [];
    try {
      for (const t of tValues) {
        const tt = tf.fill([B], t) as tf.Tensor1D;
        const z = tf.tidy(() => noisy(x, e, tt));
        try {
          noisyCodes.push((await coder.encode(z)).codes);
        } finally {
          tf.dispose([tt, z]);
        }
      }
    } finally {
      e.dispose();
    }
    const allNoisy = matrix(noisyCodes.length * clean.codes.rows, model.bottleneckDim);
    noisyCodes.forEach((m, i) => allNoisy.data.set(m.data, i * m.data.length));
    const tOfPoint = Float32Array.from({ length: allNoisy.rows }, (_, r) => tValues[Math.floor(r / clean.codes.rows)]);

    const fromCodes = decodeFromCodes(clean.patches, clean.codes);
    const best = pcaReconstruction(clean.patches, Math.min(model.bottleneckDim, d.patchDim));
    return {
      step: ck.step,
      weights: which,
      imageSize: model.inputSize,
      channels: model.inChannels,
      patchSize: model.patchSize,
      gridSize: d.gridSize,
      bottleneckDim: model.bottleneckDim,
      patchDim: d.patchDim,
      basis: basisPatches(proj1),
      spectrum: bottleneckSpectrum(proj1),
      images: batch.images,
      labels: [...batch.labels],
      classNames,
      latent: latentImages(clean.codes, d.gridSize),
      classScatter: codeScatter(clean.codes, patchLabels, 'class'),
      tScatter: codeScatter(allNoisy, tOfPoint, 't'),
      tValues: [...tValues],
      bottleneck: { error: fromCodes.error, images: await coder.decode(fromCodes.patches) },
      pca: { error: best.error, kept: best.kept, errorByDim: best.errorByDim, images: await coder.decode(best.patches) },
    };
  } finally {
    x.dispose();
    coder.dispose();
  }
}
