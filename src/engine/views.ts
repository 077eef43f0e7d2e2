// The engine side of the exploration views: sampling that records every sample's trajectory next to its grid,
// and the computations behind the trajectory viewer (frames as bytes, PCA paths, Euler vs Heun from the same
// noise), the bottleneck latent viewer and the CFG x EMA grid. Everything the webviews draw is computed here.
import * as tf from '@tensorflow/tfjs-core';
import { analyseBottleneck } from '../analysis/bottleneck';
import { loadCheckpointWeights, openDenoiser } from '../sampling/checkpointModel';
import { cfgEmaGrid } from '../analysis/grid';
import { GRID_SCORE_N, saveGridScores, scoreGrid } from '../quality/gridScores';
import { TrajectoryRecorder, compareEulerHeun, packTrajectory, pathOf, pcaPaths } from '../analysis/trajectory';
import { readTrajectory, writeTrajectory } from '../analysis/trajectoryFile';
import { toRgbBytes } from '../io/png';
import { EngineMethods, EngineNotice, HostMethods } from './protocol';
import { packTensors, unpackTensor } from '../wire/tensorPack';
import type { RpcPeer } from './rpc';
import { SampleRequest, SampleResult, sampleFromCheckpoint } from '../tasks/sampleCheckpoint';
import type { BottleneckParams, BottleneckView, CompareParams, GridParams, GridView, MethodComparison, TrajectoryView } from './viewTypes';

/** NCHW float images [count, 3, S, S] in about [-1, 1] -> HWC RGB bytes [count, S, S, 3]. */
export function imagesToBytes(images: Float32Array, count: number, size: number): Uint8Array {
  const out = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < count; i++) out.set(toRgbBytes(images, i, size), i * size * size * 3);
  return out;
}

/**
 * sampleFromCheckpoint with a TrajectoryRecorder on the sampler's observer: the grid and, next to it, the trajectory
 * of every image of that same run (`<grid>.trajectory.json` + `.bin`).
 */
export async function sampleRecordingTrajectory(req: SampleRequest, onProgress?: (evals: number, total: number) => void,
  afterStep?: () => Promise<void>, signal?: AbortSignal): Promise<SampleResult & { trajectory: string }> {
  const recorder = new TrajectoryRecorder(req.n);
  const r = await sampleFromCheckpoint(req, onProgress, async (rec) => {
    recorder.observer(rec);
    await afterStep?.();
  }, signal);
  const files = writeTrajectory(r.file, packTrajectory(recorder.result()), {
    checkpoint: req.checkpoint, seed: req.seed, n: r.n, steps: r.steps, method: r.method, cfgScale: r.cfgScale,
    intervalMin: req.intervalMin, intervalMax: req.intervalMax, weights: r.weights, labels: r.labels,
  });
  return { ...r, trajectory: files.json };
}

/** The recorded trajectory of a grid as frames to draw and the 2-D PCA of every recorded image's path. */
export function trajectoryView(grid: string): TrajectoryView {
  const { header, pack } = readTrajectory(grid);
  const [C, S] = header.meta.imageShape;
  if (C !== 3) throw new Error(`The trajectory viewer draws RGB images; this trajectory has ${C} channels.`);
  const K = header.meta.indices.length;
  const steps = header.meta.steps.length;
  const z = unpackTensor(pack, 'z', 'float32').data;
  const xPred = unpackTensor(pack, 'xPred', 'float32').data;
  const t = { ...header.meta, z, xPred };
  const paths = pcaPaths(Array.from({ length: K }, (_, k) => pathOf(t, k)), C * S * S);
  const pca = new Float32Array(K * (steps + 1) * 2);
  paths.paths.forEach((p, k) => pca.set(p, k * (steps + 1) * 2));
  return {
    grid, settings: header.settings, indices: header.meta.indices, steps: header.meta.steps, imageSize: S, pcaExplained: paths.explainedRatio,
    tensors: packTensors([
      { name: 'z', shape: [steps + 1, K, S, S, 3], data: imagesToBytes(z, (steps + 1) * K, S) },
      { name: 'xPred', shape: [steps, K, S, S, 3], data: imagesToBytes(xPred, steps * K, S) },
      { name: 'pca', shape: [K, steps + 1, 2], data: pca },
    ]),
  };
}

/** Euler against Heun from the recorded noise of one image, at an equal number of network evaluations. */
export async function compareMethods({ grid, index }: CompareParams, signal?: AbortSignal): Promise<MethodComparison> {
  const { header, pack } = readTrajectory(grid);
  const s = header.settings;
  const [C, S] = header.meta.imageShape;
  const K = header.meta.indices.length;
  if (!Number.isInteger(index) || index < 0 || index >= K) throw new Error(`The trajectory holds ${K} images; ${index} is not one of them.`);
  const per = C * S * S;
  const z = unpackTensor(pack, 'z', 'float32').data;
  const label = s.labels[header.meta.indices[index]];
  const ck = await loadCheckpointWeights(s.checkpoint, s.weights);
  const den = await openDenoiser(ck);
  const z0 = tf.tensor4d(z.slice(index * per, (index + 1) * per), [1, C, S, S]); // frame 0 is the noise
  try {
    const heunSteps = Math.max(2, s.method === 'heun' ? s.steps : Math.ceil((s.steps + 1) / 2));
    const c = await compareEulerHeun(den.denoiser, z0, Int32Array.of(label), {
      cfgScale: s.cfgScale, intervalMin: s.intervalMin, intervalMax: s.intervalMax, tEps: ck.diffusion.tEps, numClasses: ck.model.numClasses,
    }, heunSteps, { signal });
    const frames = (r: typeof c.heun) => imagesToBytes(r.trajectory.z, r.trajectory.steps.length + 1, S);
    const run = (r: typeof c.heun) => ({ method: r.method, steps: r.steps, evaluations: r.evaluations, summaries: r.trajectory.steps });
    return {
      heun: run(c.heun), euler: run(c.euler), finalRmsDifference: c.finalRmsDifference[0], imageSize: S,
      tensors: packTensors([
        { name: 'heunZ', shape: [c.heun.steps + 1, S, S, 3], data: frames(c.heun) },
        { name: 'eulerZ', shape: [c.euler.steps + 1, S, S, 3], data: frames(c.euler) },
      ]),
    };
  } finally {
    z0.dispose();
    den.dispose();
  }
}

/** Mean absolute error over the channels of each pixel [B, S, S] of two NCHW batches. */
function errorMaps(a: Float32Array, b: Float32Array, B: number, S: number): Float32Array {
  const plane = S * S;
  const out = new Float32Array(B * plane);
  for (let i = 0; i < B; i++) {
    for (let p = 0; p < plane; p++) {
      let e = 0;
      for (let c = 0; c < 3; c++) e += Math.abs(a[(i * 3 + c) * plane + p] - b[(i * 3 + c) * plane + p]);
      out[i * plane + p] = e / 3;
    }
  }
  return out;
}

function greyBytes(map: Float32Array, scale: number): Uint8Array {
  const out = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) out.fill(Math.round(255 * Math.min(1, scale > 0 ? map[i] / scale : 0)), 3 * i, 3 * i + 3);
  return out;
}

/** The bottleneck latent viewer's data for one checkpoint. */
export async function bottleneckView({ checkpoint, weights }: BottleneckParams): Promise<BottleneckView> {
  const a = await analyseBottleneck(checkpoint, { weights });
  const B = a.labels.length;
  const S = a.imageSize;
  const errCodes = errorMaps(a.images, a.bottleneck.images, B, S);
  const errPca = errorMaps(a.images, a.pca.images, B, S);
  let scale = 0;
  for (const m of [errCodes, errPca]) for (const v of m) scale = Math.max(scale, v);
  const basisRgb = a.basis.channels === 3 ? imagesToBytes(a.basis.tiles, a.basis.count, a.patchSize) : new Uint8Array(a.basis.count * a.patchSize ** 2 * 3);
  return {
    step: a.step, weights: a.weights, imageSize: S, patchSize: a.patchSize, gridSize: a.gridSize, bottleneckDim: a.bottleneckDim, patchDim: a.patchDim,
    singularValues: a.spectrum.singularValues, effectiveRank: a.spectrum.effectiveRank, energy90: a.spectrum.energy90, energy99: a.spectrum.energy99,
    basisNorms: a.basis.norms, labels: a.labels, classNames: a.classNames, tValues: a.tValues,
    classExplained: a.classScatter.explainedRatio, tExplained: a.tScatter.explainedRatio, latentExplained: a.latent.explainedRatio,
    bottleneckError: a.bottleneck.error, pcaError: a.pca.error, pcaKept: a.pca.kept, errorByDim: a.pca.errorByDim, errorScale: scale,
    tensors: packTensors([
      { name: 'basis', shape: [a.basis.count, a.patchSize, a.patchSize, 3], data: basisRgb },
      { name: 'images', shape: [B, S, S, 3], data: imagesToBytes(a.images, B, S) },
      { name: 'fromCodes', shape: [B, S, S, 3], data: imagesToBytes(a.bottleneck.images, B, S) },
      { name: 'fromPca', shape: [B, S, S, 3], data: imagesToBytes(a.pca.images, B, S) },
      { name: 'errCodes', shape: [B, S, S, 3], data: greyBytes(errCodes, scale) },
      { name: 'errPca', shape: [B, S, S, 3], data: greyBytes(errPca, scale) },
      { name: 'latent', shape: [B, a.gridSize, a.gridSize, 3], data: imagesToBytes(a.latent.images, B, a.gridSize) },
      { name: 'classPoints', shape: [a.classScatter.values.length, 2], data: a.classScatter.points },
      { name: 'classValues', shape: [a.classScatter.values.length], data: a.classScatter.values },
      { name: 'tPoints', shape: [a.tScatter.values.length, 2], data: a.tScatter.points },
      { name: 'tValues', shape: [a.tScatter.values.length], data: a.tScatter.values },
    ]),
  };
}

/** The CFG x EMA grid with every cell's images as bytes. */
export async function gridView(p: GridParams, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<GridView> {
  const started = performance.now();
  const g = await cfgEmaGrid(p.checkpoint, { weights: p.weights, cfgScales: p.cfgScales, n: p.n, seed: p.seed, steps: p.steps, method: p.method }, onProgress, signal);
  const seconds = (performance.now() - started) / 1000;
  const first = g.cells[0][0][0];
  const n = g.labels.length;
  const S = g.imageSize;
  const cellBytes = n * S * S * 3;
  const all = new Uint8Array(g.intervals.length * g.weights.length * g.cfgScales.length * cellBytes);
  let o = 0;
  for (const byInterval of g.cells) for (const row of byInterval) for (const cell of row) {
    all.set(imagesToBytes(cell.images, n, S), o);
    o += cellBytes;
  }
  return {
    step: g.step, imageSize: S, labels: g.labels, weights: g.weights, cfgScales: g.cfgScales, intervals: g.intervals,
    seed: first.seed, steps: first.steps, method: first.method, n, engine: g.engine.description, seconds,
    tensors: packTensors([{ name: 'cells', shape: [g.intervals.length, g.weights.length, g.cfgScales.length, n, S, S, 3], data: all }]),
  };
}

/** Serves the views' methods on the engine's peer. */
export function registerViewHandlers(peer: RpcPeer<HostMethods, EngineMethods, never, EngineNotice>, ensureBackend: () => Promise<void>): void {
  peer.handle('trajectoryView', ({ grid }) => trajectoryView(grid));
  peer.handle('compareMethods', async (params, ctx) => {
    await ensureBackend();
    return compareMethods(params, ctx.signal);
  });
  peer.handle('bottleneckView', async (params) => {
    await ensureBackend();
    return bottleneckView(params);
  });
  peer.handle('gridView', async (params, ctx) => {
    await ensureBackend();
    return gridView(params, (done, total) => ctx.progress({ done, total }), ctx.signal);
  });
  peer.handle('gridScores', async (p, ctx) => {
    await ensureBackend();
    const scores = await scoreGrid(p.checkpoint, { n: p.sweep ? GRID_SCORE_N.sweep : GRID_SCORE_N.quick, cfgScales: p.cfgScales, seed: p.seed, steps: p.steps },
      (done, total) => ctx.progress({ done, total }), ctx.signal);
    saveGridScores(scores);
    return scores;
  });
}
