// Checkpoints: one safetensors file with the official JiT names and PyTorch layouts for the online network
// (`net.*`), the EMA copies (`ema1.net.*`, `ema2.net.*`) and the AdamW moments (`optimizer.exp_avg.net.*`,
// `optimizer.exp_avg_sq.net.*`); the run configuration and training state (step, RNG streams) in the metadata.
import * as fs from 'fs';
import * as path from 'path';
import { JiTConfig } from '../jit/config';
import { OfficialTensor, checkOfficialTensors, paramSpecs } from '../jit/params';
import type { RunConfig } from './runConfig';
import type { TrainerState, WeightsChoice } from './trainerState';
import { removeStaleTemporaries, writeFileAtomic } from './atomic';
import { RUN_FILE, listCheckpoints, writeJson } from './runs';
import { isZipFile } from './pth';
import { TensorToWrite, encodeSafetensors, readHeader, readSafetensors } from './safetensors';

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

/**
 * Writes step-<n>.safetensors atomically, then prunes older checkpoints beyond `keep`; pinned ones (pins.json, plus
 * `pinned`) are never pruned. Temporary files left by an interrupted earlier write are removed first.
 */
export function saveCheckpoint(checkpointsDir: string, cfg: RunConfig, s: TrainerState, keep: number, pinned: Set<string> = new Set()): string {
  removeStaleTemporaries(checkpointsDir);
  const file = checkpointFile(checkpointsDir, s.step);
  writeFileAtomic(file, encodeCheckpoint(cfg, s));
  // Pruning happens only now that the new checkpoint is committed under its name.
  let pins: Set<string>;
  try {
    pins = readPins(checkpointsDir);
  } catch {
    return file; // unreadable pins: keep every checkpoint rather than risk deleting a pinned one
  }
  pruneCheckpoints(path.dirname(checkpointsDir), keep, new Set([...pins, ...pinned]));
  return file;
}

/** Keeps the newest `keep` checkpoints plus the pinned ones (file names). */
export function pruneCheckpoints(runDir: string, keep: number, pinned: Set<string>): string[] {
  const all = listCheckpoints(runDir);
  const removable = all.slice(0, Math.max(0, all.length - keep)).filter((c) => !pinned.has(path.basename(c.file)));
  for (const c of removable) fs.rmSync(c.file, { force: true });
  return removable.map((c) => c.file);
}

/** Pinned checkpoints are listed by file name in checkpoints/pins.json: {"pinned": ["step-500.safetensors"]}. */
export const PINS_FILE = 'pins.json';

export function readPins(checkpointsDir: string): Set<string> {
  const file = path.join(checkpointsDir, PINS_FILE);
  if (!fs.existsSync(file)) return new Set();
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} is not valid JSON; fix or delete it (it lists the pinned checkpoints).`);
  }
  const list = (value as { pinned?: unknown } | null)?.pinned;
  if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw new Error(`${file} should look like {"pinned": ["step-500.safetensors"]}.`);
  return new Set(list as string[]);
}

function writePins(checkpointsDir: string, pins: Set<string>): void {
  writeJson(path.join(checkpointsDir, PINS_FILE), { pinned: [...pins].sort() });
}

/** Pins a checkpoint so that pruning never removes it. */
export function pinCheckpoint(file: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist.`);
  const dir = path.dirname(file);
  const pins = readPins(dir);
  pins.add(path.basename(file));
  writePins(dir, pins);
}

/** Unpins a checkpoint; it is pruned with the others from the next save on. */
export function unpinCheckpoint(file: string): void {
  const dir = path.dirname(file);
  const pins = readPins(dir);
  if (pins.delete(path.basename(file))) writePins(dir, pins);
}

export function isPinned(file: string): boolean {
  return readPins(path.dirname(file)).has(path.basename(file));
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

/** Reads a safetensors file; a PyTorch checkpoint given instead is pointed to `jit import`. */
function readCheckpointFile(file: string): ReturnType<typeof readSafetensors> {
  if (fs.existsSync(file) && fs.statSync(file).isFile() && isZipFile(file)) {
    throw new Error(`${path.basename(file)} is a PyTorch checkpoint; convert it first with: jit import ${path.basename(file)} --out <folder>`);
  }
  return readSafetensors(file);
}

/**
 * Reads a checkpoint written by this project (run configuration and training state included). Every section is
 * checked against the model it is for (`expected`, else the configuration stored in the file); the first missing or
 * mismatching tensor is named in the error.
 */
export function loadCheckpoint(file: string, expected?: JiTConfig): LoadedCheckpoint {
  const { metadata, tensors } = readCheckpointFile(file);
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
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`${path.basename(file)} has an invalid step ${JSON.stringify(metadata.step)}; the file is damaged.`);
  const model = expected ?? config.model;
  checkSections(model, tensors);
  return {
    file,
    config,
    state: {
      ...st,
      step,
      online: section(tensors, SECTION_PREFIX.online),
      ema1: section(tensors, SECTION_PREFIX.ema1),
      ema2: section(tensors, SECTION_PREFIX.ema2),
      adamM: section(tensors, SECTION_PREFIX.adamM),
      adamV: section(tensors, SECTION_PREFIX.adamV),
    },
  };
}

/**
 * Every section must hold the model's tensors (sections other than the online weights may omit frozen ones) and
 * nothing else: a deeper model's extra blocks are as much a mismatch as a missing tensor.
 */
function checkSections(model: JiTConfig, tensors: Map<string, OfficialTensor>): void {
  checkOfficialTensors(model, tensors, SECTION_PREFIX.online);
  const specs = paramSpecs(model);
  const frozen = specs.filter((s) => !s.trainable);
  const prefixes = [SECTION_PREFIX.ema1, SECTION_PREFIX.ema2, SECTION_PREFIX.adamM, SECTION_PREFIX.adamV];
  for (const prefix of prefixes) {
    const view = new Map(tensors);
    for (const s of frozen) if (!view.has(prefix + s.name)) view.set(prefix + s.name, tensors.get(s.name)!);
    checkOfficialTensors(model, view, prefix);
  }
  const known = new Set(specs.flatMap((s) => [SECTION_PREFIX.online, ...prefixes].map((p) => p + s.name)));
  const extra = [...tensors.keys()].find((k) => !known.has(k));
  if (extra) throw new Error(`The checkpoint holds tensor ${extra}, which this model does not have: the checkpoint belongs to another preset or configuration.`);
}

/** The model configuration recorded in a run folder's run.json, if there is one (what a resume must match). */
export function runModelConfig(runDir: string): JiTConfig | undefined {
  const file = path.join(runDir, RUN_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { config?: RunConfig }).config?.model;
  } catch {
    return undefined; // a damaged run.json does not block resuming from a checkpoint that carries its own config
  }
}

/** Weights for sampling: the chosen copy of any checkpoint of this project, or a bare `net.*` state dict. */
export function loadWeights(file: string, which: WeightsChoice, configHint?: JiTConfig): { model: JiTConfig; weights: Map<string, OfficialTensor>; step?: number; run?: RunConfig } {
  const { metadata, tensors } = readCheckpointFile(file);
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

/** Training seconds recorded in a checkpoint of this project (header only); undefined for a bare state dict. */
export function loadCheckpointSeconds(file: string): number | undefined {
  try {
    const seconds = (JSON.parse(readHeader(file).metadata.state ?? '{}') as { seconds?: unknown }).seconds;
    return typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
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
