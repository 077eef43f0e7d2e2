// Checkpoints: one safetensors file with the official JiT names and PyTorch layouts for the online network
// (`net.*`), the EMA copies (`ema1.net.*`, `ema2.net.*`) and the AdamW moments (`optimizer.exp_avg.net.*`,
// `optimizer.exp_avg_sq.net.*`); the run configuration and training state (step, RNG streams) in the metadata.
import * as fs from 'fs';
import * as path from 'path';
import { JiTConfig } from '../jit/config';
import { OfficialTensor, paramSpecs } from '../jit/params';
import type { RunConfig } from '../train/runConfig';
import type { TrainerState, WeightsChoice } from '../train/trainer';
import { removeStaleTemporaries, writeFileAtomic } from './atomic';
import { listCheckpoints } from './runs';
import { TensorToWrite, encodeSafetensors, readSafetensors } from './safetensors';

export const CHECKPOINT_FORMAT = 'jit-explorer-checkpoint/1';

export const SECTION_PREFIX = {
  online: '',
  ema1: 'ema1.',
  ema2: 'ema2.',
  adamM: 'optimizer.exp_avg.',
  adamV: 'optimizer.exp_avg_sq.',
} as const;

export function checkpointFile(checkpointsDir: string, step: number): string {
  return path.join(checkpointsDir, `step-${step}.safetensors`);
}

/** Serialises a checkpoint (tensors in state-dict order within each section). */
export function encodeCheckpoint(cfg: RunConfig, s: TrainerState): Buffer {
  const tensors: TensorToWrite[] = [];
  const add = (prefix: string, m: Map<string, OfficialTensor>) => {
    for (const spec of paramSpecs(cfg.model)) {
      const t = m.get(spec.name);
      if (t) tensors.push({ name: prefix + spec.name, shape: t.shape, data: t.data });
    }
  };
  add(SECTION_PREFIX.online, s.online);
  add(SECTION_PREFIX.ema1, s.ema1);
  add(SECTION_PREFIX.ema2, s.ema2);
  add(SECTION_PREFIX.adamM, s.adamM);
  add(SECTION_PREFIX.adamV, s.adamV);
  const metadata = {
    format: CHECKPOINT_FORMAT,
    step: String(s.step),
    config: JSON.stringify(cfg),
    state: JSON.stringify({ imagesSeen: s.imagesSeen, seconds: s.seconds, adamStep: s.adamStep, dataRng: s.dataRng, noiseRng: s.noiseRng }),
    created: new Date().toISOString(),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Writes step-<n>.safetensors atomically, then prunes older checkpoints beyond `keep` (never pinned ones). */
export function saveCheckpoint(checkpointsDir: string, cfg: RunConfig, s: TrainerState, keep: number, pinned: Set<string> = new Set()): string {
  removeStaleTemporaries(checkpointsDir);
  const file = checkpointFile(checkpointsDir, s.step);
  writeFileAtomic(file, encodeCheckpoint(cfg, s));
  pruneCheckpoints(path.dirname(checkpointsDir), keep, pinned);
  return file;
}

/** Keeps the newest `keep` checkpoints plus the pinned ones. Runs only after a new checkpoint is committed. */
export function pruneCheckpoints(runDir: string, keep: number, pinned: Set<string>): string[] {
  const all = listCheckpoints(runDir);
  const removable = all.slice(0, Math.max(0, all.length - keep)).filter((c) => !pinned.has(path.basename(c.file)));
  for (const c of removable) fs.rmSync(c.file, { force: true });
  return removable.map((c) => c.file);
}

export interface LoadedCheckpoint {
  file: string;
  config: RunConfig;
  state: TrainerState;
}

function section(tensors: Map<string, OfficialTensor>, prefix: string): Map<string, OfficialTensor> {
  const m = new Map<string, OfficialTensor>();
  for (const [k, v] of tensors) {
    if (!k.startsWith(prefix + 'net.')) continue;
    if (prefix === '' && /^(ema\d|optimizer)\./.test(k)) continue;
    m.set(k.slice(prefix.length), v);
  }
  return m;
}

/** Reads a checkpoint written by this project (run configuration and training state included). */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  const { metadata, tensors } = readSafetensors(file);
  if (metadata.format !== CHECKPOINT_FORMAT || !metadata.config || !metadata.state) {
    throw new Error(`${path.basename(file)} holds no JiT Explorer training state (only weights?); it can be sampled or inspected but not resumed.`);
  }
  let config: RunConfig;
  let st: Omit<TrainerState, 'step' | 'online' | 'ema1' | 'ema2' | 'adamM' | 'adamV'>;
  try {
    config = JSON.parse(metadata.config);
    st = JSON.parse(metadata.state);
  } catch {
    throw new Error(`${path.basename(file)} has unreadable training metadata; the file is damaged.`);
  }
  const online = section(tensors, SECTION_PREFIX.online);
  return {
    file,
    config,
    state: {
      ...st,
      step: Number(metadata.step),
      online,
      ema1: section(tensors, SECTION_PREFIX.ema1),
      ema2: section(tensors, SECTION_PREFIX.ema2),
      adamM: section(tensors, SECTION_PREFIX.adamM),
      adamV: section(tensors, SECTION_PREFIX.adamV),
    },
  };
}

/** Weights for sampling: the chosen copy of any checkpoint of this project, or a bare `net.*` state dict. */
export function loadWeights(file: string, which: WeightsChoice, configHint?: JiTConfig): { model: JiTConfig; weights: Map<string, OfficialTensor>; step?: number; run?: RunConfig } {
  const { metadata, tensors } = readSafetensors(file);
  let run: RunConfig | undefined;
  if (metadata.config) {
    try {
      run = JSON.parse(metadata.config);
    } catch {
      run = undefined;
    }
  }
  const model = run?.model ?? configHint ?? inferModelConfig(tensors);
  let weights = section(tensors, SECTION_PREFIX[which]);
  if (weights.size === 0) {
    if (which !== 'online') throw new Error(`${path.basename(file)} has no ${which} weights; use the online weights (--ema none).`);
    throw new Error(`${path.basename(file)} has no JiT weights (no tensors named net.*).`);
  }
  // EMA sections of this project hold every tensor; fill anything missing (e.g. frozen) from the online copy
  const online = section(tensors, '');
  weights = new Map([...online, ...weights]);
  return { model, weights, step: metadata.step ? Number(metadata.step) : undefined, run };
}

/** Infers the architecture of a bare state dict from its tensor shapes. */
export function inferModelConfig(t: Map<string, OfficialTensor>, inContextStart?: number): JiTConfig {
  const need = (n: string) => {
    const v = t.get(n);
    if (!v) throw new Error(`Cannot infer the model: tensor ${n} is missing.`);
    return v.shape;
  };
  const [bottleneckDim, inChannels, patchSize] = need('net.x_embedder.proj1.weight');
  const [, numPatches, hiddenSize] = need('net.pos_embed');
  const headDim = need('net.blocks.0.attn.q_norm.weight')[0];
  let depth = 0;
  while (t.has(`net.blocks.${depth}.norm1.weight`)) depth++;
  const numClasses = need('net.y_embedder.embedding_table.weight')[0] - 1;
  const inContextLen = t.get('net.in_context_posemb')?.shape[1] ?? 0;
  const mlpHidden = need('net.blocks.0.mlp.w3.weight')[1];
  // mlp_ratio is not stored; 4 is the official value. Check that it reproduces the stored width.
  const mlpRatio = Math.floor((Math.floor(hiddenSize * 4) * 2) / 3) === mlpHidden ? 4 : (mlpHidden * 3) / 2 / hiddenSize;
  const gridSize = Math.round(Math.sqrt(numPatches));
  return {
    inputSize: gridSize * patchSize, patchSize, inChannels, hiddenSize, depth, numHeads: hiddenSize / headDim, mlpRatio, bottleneckDim,
    numClasses, inContextLen,
    // Not recoverable from shapes: the official presets start at depth / 3 (B: 4 of 12, L: 8 of 24, H: 10 of 32 ~ depth/3).
    inContextStart: inContextStart ?? (inContextLen > 0 ? Math.min(depth - 1, officialInContextStart(depth)) : 0),
    freezePatchEmbed: false,
  };
}

function officialInContextStart(depth: number): number {
  return ({ 12: 4, 24: 8, 32: 10 } as Record<number, number>)[depth] ?? Math.floor(depth / 3);
}
