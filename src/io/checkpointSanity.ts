// Checks for the ways a run goes quietly wrong, most often after a resume that did not resume (the official
// main_jit.py takes --resume as a folder and trains from scratch when its checkpoint-last.pth is not there):
// - a checkpoint past its first epoch (or step) whose weights are still at the official initialisation: the
//   output head and the adaLN modulations are initialised to exactly zero and leave zero at the first update;
// - EMA copies equal to the online weights after many steps: an EMA rebuilt from the online weights;
// - a loss curve that starts over at its initial level after it had come down: training restarted from scratch.
// The weight checks read a few probe tensors only, so they are cheap even for JiT-H checkpoints.
import * as path from 'path';
import { TensorSource, canonicalName, openTensorSource } from './tensorSource';

export type SanityKind = 'initialWeights' | 'emaEqualsOnline' | 'lossRestart';

export interface SanityWarning {
  kind: SanityKind;
  /** One sentence: what is wrong and what it usually means. */
  message: string;
}

/** Tensors the official initialisation sets to exactly zero (initialize_weights: adaLN-Zero, zero output layer). */
const ZERO_AT_INIT = ['net.final_layer.linear.weight', 'net.final_layer.linear.bias', 'net.final_layer.adaLN_modulation.1.weight', 'net.blocks.0.adaLN_modulation.1.weight'];
/** Trainable tensors an EMA copy is compared on (pos_embed is fixed, so equal in every copy). */
const EMA_PROBES = [...ZERO_AT_INIT, 'net.blocks.0.attn.qkv.weight', 'net.x_embedder.proj1.weight'];
/** After this many updates an EMA copy cannot equal the online weights (every decay < 1 moves it). */
const EMA_MIN_STEPS = 10;

function allZero(d: Float32Array): boolean {
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}

function equal(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Where a checkpoint is in training: optimizer steps and (official files) the epoch recorded. */
async function progress(src: TensorSource): Promise<{ step?: number; epoch?: number }> {
  if (src.format === 'safetensors') {
    const step = Number(src.metadata.step);
    return { step: Number.isFinite(step) ? step : undefined };
  }
  const epoch = typeof src.metadata.epoch === 'number' ? src.metadata.epoch : undefined;
  const stepTensor = src.tensors.find((t) => /^optimizer\.state\.\d+\.step$/.test(t.name));
  const step = stepTensor ? (await src.read(stepTensor.name))[0] : undefined;
  return { step, epoch };
}

/** The weight checks of one checkpoint (this project's or an official .pth). */
export async function checkpointSanity(file: string): Promise<SanityWarning[]> {
  const src = await openTensorSource(file);
  try {
    return await sourceSanity(src);
  } finally {
    src.close();
  }
}

export async function sourceSanity(src: TensorSource): Promise<SanityWarning[]> {
  const name = path.basename(src.file);
  const byCanon = new Map(src.tensors.map((t) => [canonicalName(src.format, t.name), t.name]));
  const read = async (canon: string) => {
    const n = byCanon.get(canon);
    return n === undefined ? undefined : src.read(n);
  };
  const { step, epoch } = await progress(src);
  const trained = (epoch ?? 0) > 0 || (step ?? 0) > 0;
  const where = epoch !== undefined ? `epoch ${epoch}` : `step ${step}`;
  const warnings: SanityWarning[] = [];
  for (const copy of ['', 'ema1.', 'ema2.']) {
    const probes = await Promise.all(ZERO_AT_INIT.map((n) => read(copy + n)));
    if (!trained || probes.some((p) => p === undefined) || !probes.every((p) => allZero(p!))) continue;
    const label = copy ? `the ${copy.slice(0, -1)} copy` : 'the online weights';
    warnings.push({ kind: 'initialWeights', message: `${name} is at ${where}, but in ${label} the output head and adaLN are still exactly zero, as the official initialisation leaves them: these weights were never trained (a --resume naming the .pth instead of its folder trains from scratch).` });
    break; // the online weights at init explain the copies too
  }
  if ((step ?? 0) >= EMA_MIN_STEPS) {
    for (const copy of ['ema1', 'ema2']) {
      const pairs = await Promise.all(EMA_PROBES.map(async (n) => [await read(n), await read(`${copy}.${n}`)] as const));
      const present = pairs.filter(([a, b]) => a && b);
      if (present.length && present.every(([a, b]) => equal(a!, b!))) {
        warnings.push({ kind: 'emaEqualsOnline', message: `${name}: the ${copy} copy equals the online weights after ${step} steps; an EMA moves away at every update, so it was rebuilt from the online weights (a resume that did not load it) or never updated.` });
      }
    }
  }
  return warnings;
}

export interface LossRestart {
  /** x of the first point of the restart. */
  x: number;
  before: number;
  after: number;
  initial: number;
}

const WINDOW = 5;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Where a loss curve starts over: the series (x, loss) in the order logged splits where x goes back (a new process
 * logging from its start step); a part whose first losses are near the curve's initial level while the curve had
 * come well below it is a restart from scratch. A resume from a checkpoint continues at the trained level and is
 * not one.
 */
export function lossRestarts(points: [number, number][]): LossRestart[] {
  const pts = points.filter(([, l]) => Number.isFinite(l));
  if (pts.length < 2 * WINDOW) return [];
  const initial = median(pts.slice(0, WINDOW).map(([, l]) => l));
  const out: LossRestart[] = [];
  for (let i = WINDOW; i < pts.length; i++) {
    if (pts[i][0] >= pts[i - 1][0]) continue;
    const before = median(pts.slice(Math.max(0, i - WINDOW), i).map(([, l]) => l));
    const after = median(pts.slice(i, i + WINDOW).map(([, l]) => l));
    if (before < 0.6 * initial && after > 0.85 * initial) out.push({ x: pts[i][0], before, after, initial });
  }
  return out;
}

export function lossRestartWarnings(points: [number, number][], xName: string): SanityWarning[] {
  const fmt = (v: number) => Number(v.toPrecision(3));
  return lossRestarts(points).map((r) => ({
    kind: 'lossRestart',
    message: `The loss starts over at ${xName} ${r.x}: from ${fmt(r.before)} back to ${fmt(r.after)}, its initial level (${fmt(r.initial)}); that process trained from scratch instead of resuming (main_jit.py --resume takes the output folder, not checkpoint-last.pth).`,
  }));
}
