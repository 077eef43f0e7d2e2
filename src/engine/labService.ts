// The engine's side of the Manifold Lab panel: runs the toy experiment (src/toy/lab.ts) with its progress
// streamed, and returns the generated points, the true points and the trajectories as one binary pack.
import { packTensors } from '../wire/tensorPack';
import { runToyExperiment, ToyOptions, ToyProgress } from '../toy/lab';
import type { LabProgress, LabResult } from '../wire/labMessages';

export type LabParams = Partial<Pick<ToyOptions, 'data' | 'dims' | 'targets' | 'steps' | 'seed' | 'samples' | 'sampleSteps' | 'trajectories' | 'batch' | 'progressEvery'>>;

function progressOf(e: ToyProgress): LabProgress {
  if (e.type !== 'cell') return e;
  const r = e.result;
  return { type: 'cell', dim: r.dim, target: r.target, distance: r.distance, finalLoss: r.finalLoss, cell: e.cell, cells: e.cells };
}

const flat = (pts: [number, number][]) => Float32Array.from(pts.flat());

export async function runLab(params: LabParams, onProgress: (p: LabProgress) => void, signal?: AbortSignal): Promise<LabResult> {
  const r = await runToyExperiment(params, { signal, onProgress: (e) => onProgress(progressOf(e)) });
  const items: { name: string; shape: number[]; data: Float32Array }[] = [{ name: 'truth', shape: [r.truth.length, 2], data: flat(r.truth) }];
  r.cells.forEach((c, i) => {
    items.push({ name: `samples${i}`, shape: [c.samples.length, 2], data: flat(c.samples) });
    const k = c.trajectories.length;
    const len = k ? c.trajectories[0].length : 0;
    items.push({ name: `trajectories${i}`, shape: [k, len, 2], data: Float32Array.from(c.trajectories.flatMap((t) => t.flat())) });
  });
  return {
    data: r.options.data, dims: r.options.dims, targets: r.options.targets, steps: r.options.steps, seed: r.options.seed,
    referenceDistance: r.referenceDistance,
    cells: r.cells.map((c) => ({ dim: c.dim, target: c.target, distance: c.distance, finalLoss: c.finalLoss, trainSeconds: c.trainSeconds, sampleSeconds: c.sampleSeconds })),
    tensors: packTensors(items),
  };
}
