// What a checkpoint holds besides its configuration: the trainer's full state, in official tensor layouts, and the
// names of the three weights copies. Checkpoints live in this layer, so the trainer imports these types from here.
import type { OfficialTensor } from '../jit/params';
import type { RngState } from '../jit/random';

/** Everything needed to continue a run, in official tensor layouts. */
export interface TrainerState {
  step: number;
  imagesSeen: number;
  seconds: number;
  online: Map<string, OfficialTensor>;
  ema1: Map<string, OfficialTensor>;
  ema2: Map<string, OfficialTensor>;
  adamStep: number;
  adamM: Map<string, OfficialTensor>;
  adamV: Map<string, OfficialTensor>;
  dataRng: RngState;
  noiseRng: RngState;
}

export type WeightsChoice = 'online' | 'ema1' | 'ema2';
