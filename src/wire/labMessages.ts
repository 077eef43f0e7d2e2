// Messages between the extension host and the Manifold Lab panel (the paper's x / eps / v toy experiment).
import type { TensorPack } from './tensorPack';

export type LabTarget = 'x' | 'eps' | 'v';
export const LAB_DATA = ['spiral', 'moons', 'gmm'] as const;
export type LabData = (typeof LAB_DATA)[number];

export interface LabRequest {
  data: LabData;
  dims: number[];
  targets: LabTarget[];
  steps: number;
  seed: number;
}

/** What the engine's `manifoldLab` method streams while a run trains: training steps and finished cells (without their points). */
export type LabProgress =
  | { type: 'train'; dim: number; target: LabTarget; step: number; steps: number; loss: number; cell: number; cells: number }
  | { type: 'sampling'; dim: number; target: LabTarget; cell: number; cells: number }
  | { type: 'cell'; dim: number; target: LabTarget; distance: number; finalLoss: number; cell: number; cells: number };

export interface LabCell {
  dim: number;
  target: LabTarget;
  distance: number;
  finalLoss: number;
  trainSeconds: number;
  sampleSeconds: number;
}

/** What the engine's `manifoldLab` method answers: the settings it ran with, one cell per (dim, target), and the points. */
export interface LabResult extends LabRequest {
  referenceDistance: number;
  cells: LabCell[];
  /**
   * 'truth' float32 [T, 2]; per cell i (D-major, as `cells`): 'samples<i>' float32 [S, 2] and
   * 'trajectories<i>' float32 [K, sampleSteps + 1, 2].
   */
  tensors: TensorPack;
}

/** The result as the panel gets it: the request it answers (with the engine's values) beside the cells and points. */
export type LabResultView = Pick<LabResult, 'referenceDistance' | 'cells'> & { request: LabRequest; pack: TensorPack };

export type ToLab =
  | { type: 'started'; request: LabRequest }
  | { type: 'progress'; progress: LabProgress }
  | { type: 'result'; result: LabResultView }
  | { type: 'stopped'; message: string }
  | { type: 'error'; message: string };

export type FromLab = { type: 'ready' } | { type: 'run'; request: LabRequest } | { type: 'cancel' };

export interface LabState {
  request: LabRequest;
}
