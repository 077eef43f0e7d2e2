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

export interface LabCellView {
  dim: number;
  target: LabTarget;
  distance: number;
  finalLoss: number;
  trainSeconds: number;
  sampleSeconds: number;
}

export interface LabResultView {
  request: LabRequest;
  referenceDistance: number;
  cells: LabCellView[];
  /** 'truth' float32 [T, 2]; per cell i: 'samples<i>' float32 [S, 2], 'trajectories<i>' float32 [K, L, 2]. */
  pack: TensorPack;
}

export type LabProgressView =
  | { type: 'train'; dim: number; target: LabTarget; step: number; steps: number; loss: number; cell: number; cells: number }
  | { type: 'sampling'; dim: number; target: LabTarget; cell: number; cells: number }
  | { type: 'cell'; dim: number; target: LabTarget; distance: number; finalLoss: number; cell: number; cells: number };

export type ToLab =
  | { type: 'started'; request: LabRequest }
  | { type: 'progress'; progress: LabProgressView }
  | { type: 'result'; result: LabResultView }
  | { type: 'stopped'; message: string }
  | { type: 'error'; message: string };

export type FromLab = { type: 'ready' } | { type: 'run'; request: LabRequest } | { type: 'cancel' };

export interface LabState {
  request: LabRequest;
}
