// Model and diffusion configuration: the official JiT dimensions plus CPU-sized presets.

export interface JiTConfig {
  /** Image side in pixels (square images). */
  inputSize: number;
  /** Patch side in pixels; tokens are (inputSize / patchSize)^2. */
  patchSize: number;
  inChannels: number;
  hiddenSize: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  /** d': width of the linear bottleneck of the patch embedding (proj1). */
  bottleneckDim: number;
  numClasses: number;
  /** Number of in-context class tokens (0 disables them). */
  inContextLen: number;
  /** Block index at which the in-context tokens are prepended. */
  inContextStart: number;
  /** Freeze the bottleneck patch embedding (proj1, proj2). The official code trains it. */
  freezePatchEmbed: boolean;
}

export type PredictionTarget = 'x' | 'eps' | 'v';

export interface DiffusionConfig {
  pMean: number;
  pStd: number;
  tEps: number;
  noiseScale: number;
  labelDropProb: number;
  /** What the network outputs; every target is trained with the v-loss (paper Tab. 1/2). */
  target: PredictionTarget;
}

export const DEFAULT_DIFFUSION: DiffusionConfig = {
  pMean: -0.8,
  pStd: 0.8,
  tEps: 0.05,
  noiseScale: 1.0,
  labelDropProb: 0.1,
  target: 'x',
};

export interface TrainDefaults {
  /** Base learning rate; lr = blr * batch / 256. */
  blr: number;
  batch: number;
  /** Decays of the two EMA copies; ema1 is what sampling uses by default. */
  emaDecay1: number;
  emaDecay2: number;
  warmupSteps: number;
  /** Learning rate after warmup: constant (official) or a cosine decay to 0 at the run's last step. */
  schedule: 'constant' | 'cosine';
}

export interface Preset {
  name: string;
  model: Omit<JiTConfig, 'numClasses' | 'freezePatchEmbed'>;
  train: TrainDefaults;
  /** noise_scale: 1 at 256 px and below, 2 at 512 px (official). */
  noiseScale: number;
  description: string;
}

const OFFICIAL_TRAIN: TrainDefaults = { blr: 5e-5, batch: 256, emaDecay1: 0.9999, emaDecay2: 0.9996, warmupSteps: 25_000, schedule: 'constant' };
// The official decays average over ~10k steps, longer than a whole laptop run; a short run would only ever
// show the (zero-output) initialisation. The CPU presets average over ~200 and ~1000 steps instead, and use a
// larger base learning rate because they train for minutes, not 600 epochs.
const CPU_TRAIN: TrainDefaults = { blr: 2e-3, batch: 32, emaDecay1: 0.995, emaDecay2: 0.999, warmupSteps: 50, schedule: 'constant' };
// The default preset's settings were chosen by measuring class accuracy and FD against training steps on a 2-core
// CPU (docs/defaults.md): a peak learning rate of 4e-3 at batch 32 (blr 0.032), decayed by a cosine to the last
// step, and a first EMA that averages over ~100 steps so the previews follow the fast early progress.
const TI8_TRAIN: TrainDefaults = { blr: 0.032, batch: 32, emaDecay1: 0.99, emaDecay2: 0.999, warmupSteps: 100, schedule: 'cosine' };

function official(name: string, inputSize: number, patchSize: number, depth: number, hiddenSize: number,
  numHeads: number, bottleneckDim: number, inContextStart: number): Preset {
  return {
    name,
    model: { inputSize, patchSize, inChannels: 3, hiddenSize, depth, numHeads, mlpRatio: 4, bottleneckDim, inContextLen: 32, inContextStart },
    train: OFFICIAL_TRAIN,
    noiseScale: inputSize >= 512 ? 2 : 1,
    description: `official ${name}: ${inputSize} px, patch ${patchSize}, depth ${depth}, hidden ${hiddenSize}`,
  };
}

export const PRESETS: Record<string, Preset> = {
  'JiT-Ti/16': {
    name: 'JiT-Ti/16',
    model: { inputSize: 64, patchSize: 16, inChannels: 3, hiddenSize: 256, depth: 6, numHeads: 4, mlpRatio: 4, bottleneckDim: 32, inContextLen: 8, inContextStart: 2 },
    train: { ...CPU_TRAIN, batch: 32 },
    noiseScale: 1,
    description: 'CPU-sized: 64 px, 768-dim patches as in the paper, 7.6 M parameters',
  },
  'JiT-Ti/8': {
    name: 'JiT-Ti/8',
    model: { inputSize: 32, patchSize: 8, inChannels: 3, hiddenSize: 192, depth: 6, numHeads: 3, mlpRatio: 4, bottleneckDim: 32, inContextLen: 4, inContextStart: 2 },
    train: TI8_TRAIN,
    noiseScale: 1,
    description: 'CPU-sized: 32 px, 192-dim patches through a 32-dim bottleneck, 4.2 M parameters (default)',
  },
  'JiT-Ti/4': {
    name: 'JiT-Ti/4',
    model: { inputSize: 32, patchSize: 4, inChannels: 3, hiddenSize: 192, depth: 6, numHeads: 3, mlpRatio: 4, bottleneckDim: 16, inContextLen: 4, inContextStart: 2 },
    train: { ...CPU_TRAIN, batch: 16 },
    noiseScale: 1,
    description: 'CPU-sized: 32 px, small 48-dim patches, 4.2 M parameters',
  },
  'JiT-B/16': official('JiT-B/16', 256, 16, 12, 768, 12, 128, 4),
  'JiT-B/32': official('JiT-B/32', 512, 32, 12, 768, 12, 128, 4),
  'JiT-L/16': official('JiT-L/16', 256, 16, 24, 1024, 16, 128, 8),
  'JiT-L/32': official('JiT-L/32', 512, 32, 24, 1024, 16, 128, 8),
  'JiT-H/16': official('JiT-H/16', 256, 16, 32, 1280, 16, 256, 10),
  'JiT-H/32': official('JiT-H/32', 512, 32, 32, 1280, 16, 256, 10),
};

export const DEFAULT_PRESET = 'JiT-Ti/8';
/** Training steps of `jit train` and "JiT: Start Training" when none are given. */
export const DEFAULT_STEPS = 2000;

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new Error(`Unknown preset "${name}". Choose one of: ${presetNames().join(', ')}.`);
  return p;
}

export function modelConfigFromPreset(name: string, numClasses: number, freezePatchEmbed = false): JiTConfig {
  return { ...getPreset(name).model, numClasses, freezePatchEmbed };
}

/** Dimensions derived from a config, in one place. */
export interface Dims {
  gridSize: number; // tokens per side
  numPatches: number; // image tokens
  patchDim: number; // C * p * p
  headDim: number;
  mlpHidden: number; // SwiGLU inner width h = int(int(hidden * mlp_ratio) * 2 / 3)
}

export function dims(c: JiTConfig): Dims {
  if (c.inputSize % c.patchSize !== 0) throw new Error(`inputSize ${c.inputSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.hiddenSize % c.numHeads !== 0) throw new Error(`hiddenSize ${c.hiddenSize} is not a multiple of numHeads ${c.numHeads}`);
  const headDim = c.hiddenSize / c.numHeads;
  if (headDim % 4 !== 0) throw new Error(`head dim ${headDim} must be a multiple of 4 for 2-D RoPE`);
  if (c.hiddenSize % 4 !== 0) throw new Error(`hiddenSize ${c.hiddenSize} must be a multiple of 4 for the 2-D sin-cos embedding`);
  if (c.inContextLen > 0 && (c.inContextStart < 0 || c.inContextStart >= c.depth)) {
    throw new Error(`inContextStart ${c.inContextStart} must be a block index below depth ${c.depth}`);
  }
  const gridSize = c.inputSize / c.patchSize;
  return {
    gridSize,
    numPatches: gridSize * gridSize,
    patchDim: c.inChannels * c.patchSize * c.patchSize,
    headDim,
    mlpHidden: Math.floor((Math.floor(c.hiddenSize * c.mlpRatio) * 2) / 3),
  };
}
