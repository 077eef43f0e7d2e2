// Interop with the official JiT PyTorch code. Import: an official training checkpoint (.pth: model, model_ema1,
// model_ema2, optimizer, epoch, args) becomes a checkpoint of this project that `jit sample` and resume use, with
// the configuration inferred from the tensor shapes and the pickled args. Export: the chosen weights of a checkpoint
// become a safetensors file holding exactly the official state dict (net.* in PyTorch layouts, float32), which the
// official Denoiser loads with load_state_dict(..., strict=True).
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_DIFFUSION, JiTConfig, PRESETS, Preset } from '../jit/config';
import { OfficialTensor, checkOfficialTensors, paramSpecs } from '../jit/params';
import { Rng } from '../jit/random';
import { decays } from '../jit/optim';
import { DataSpec, RunConfig, validateRunConfig } from './runConfig';
import { peakLr } from '../jit/schedule';
import type { TrainerState, WeightsChoice } from './trainerState';
import { writeFileAtomic } from './atomic';
import { checkpointFile, encodeCheckpoint, inferModelConfig, loadWeights } from './checkpoint';
import { PickleValue, PyDict, PyNamespace, TorchTensor } from './pickle';
import { RUN_RECORD_FORMAT, RUN_RECORD_KEY } from './officialRun';
import { PthArchive, toPlain } from './pth';
import { runPaths, writeJson } from './runs';
import { encodeSafetensors } from './safetensors';

const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);

/** The AdamW hyper-parameters this project's optimizer uses (official JiT values). */
const OUR_BETAS: [number, number] = [0.9, 0.95];
const OUR_EPS = 1e-8;

export interface OfficialCheckpoint {
  config: RunConfig;
  state: TrainerState;
  epoch?: number;
  /** The pickled argparse.Namespace as plain data ({} if the file has none). */
  args: Record<string, unknown>;
  /** Things that could not be carried over exactly, one sentence each. */
  warnings: string[];
}

export interface ImportOptions {
  /** Block where the in-context tokens start: not stored in a checkpoint; known for the official presets. */
  inContextStart?: number;
  /** Dataset a resumed run trains on (default: the built-in shapes). */
  data?: DataSpec;
}

/** The dict itself if it maps names to tensors (a state dict), else undefined. */
function tensorDict(v: PickleValue | undefined): PyDict | undefined {
  return v instanceof PyDict && v.map.size > 0 && [...v.map.values()].every((x) => x instanceof TorchTensor) ? v : undefined;
}

async function readSection(archive: PthArchive, dict: PyDict, section: string): Promise<Map<string, OfficialTensor>> {
  const out = new Map<string, OfficialTensor>();
  for (const [k, t] of dict.map) {
    const tensor = t as TorchTensor;
    if (!FLOAT_DTYPES.has(tensor.dtype)) throw new Error(`Tensor ${section}.${String(k)} has dtype ${tensor.dtype}; JiT weights are floating point.`);
    out.set(String(k), { shape: tensor.shape, data: await archive.readTensor(tensor) });
  }
  return out;
}

/** A finite number from args, or undefined. */
function argNumber(args: Record<string, unknown>, key: string): number | undefined {
  const v = args[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function presetMatching(name: unknown, m: JiTConfig): Preset | undefined {
  const p = typeof name === 'string' ? PRESETS[name] : undefined;
  if (!p) return undefined;
  const keys = ['inputSize', 'patchSize', 'inChannels', 'hiddenSize', 'depth', 'numHeads', 'bottleneckDim', 'inContextLen'] as const;
  return keys.every((k) => p.model[k] === m[k]) ? p : undefined;
}

/**
 * Maps the optimizer's integer parameter ids to names. torch numbers parameters across its param_groups in order;
 * the official code builds them with add_weight_decay: [no-decay (1-D and biases), decay], each in parameters()
 * order, which is state-dict order minus the frozen pos_embed. A single group holds every trainable parameter.
 */
function parameterIds(groups: PyDict[], model: JiTConfig): Map<number, string> {
  const trainable = paramSpecs(model).filter((s) => s.trainable);
  let expected: string[][];
  if (groups.length === 1) expected = [trainable.map((s) => s.name)];
  else if (groups.length === 2) expected = [trainable.filter((s) => !decays(s.name, s.shape)).map((s) => s.name), trainable.filter((s) => decays(s.name, s.shape)).map((s) => s.name)];
  else throw new Error(`The optimizer has ${groups.length} parameter groups; an official JiT checkpoint has 1 or 2.`);
  const ids = new Map<number, string>();
  groups.forEach((g, gi) => {
    const params = g.map.get('params');
    if (!Array.isArray(params) || params.some((p) => typeof p !== 'number')) throw new Error(`Optimizer parameter group ${gi} has no list of parameter ids.`);
    if (params.length !== expected[gi].length) {
      throw new Error(`Optimizer parameter group ${gi} holds ${params.length} parameters but the model has ${expected[gi].length} there; the optimizer does not belong to this model.`);
    }
    params.forEach((id, i) => ids.set(id as number, expected[gi][i]));
  });
  return ids;
}

/** AdamW moments by parameter name, and the step count, from a torch optimizer state dict. */
async function readAdam(archive: PthArchive, opt: PyDict, model: JiTConfig, warnings: string[]): Promise<{ step: number; m: Map<string, OfficialTensor>; v: Map<string, OfficialTensor> }> {
  const state = opt.map.get('state');
  const groupsValue = opt.map.get('param_groups');
  if (!(state instanceof PyDict) || !Array.isArray(groupsValue) || !groupsValue.every((g) => g instanceof PyDict)) {
    throw new Error('The optimizer entry is not a torch optimizer state dict (it needs state and param_groups).');
  }
  const groups = groupsValue as PyDict[];
  for (const g of groups) {
    const p = toPlain(g) as Record<string, unknown>;
    const betas = p.betas as unknown[] | undefined;
    if (betas && (betas[0] !== OUR_BETAS[0] || betas[1] !== OUR_BETAS[1])) warnings.push(`The optimizer used betas (${betas.join(', ')}); training here continues with (${OUR_BETAS.join(', ')}).`);
    if (p.eps !== undefined && p.eps !== OUR_EPS) warnings.push(`The optimizer used eps ${p.eps}; training here continues with ${OUR_EPS}.`);
    if (p.amsgrad === true) warnings.push('The optimizer used AMSGrad, which this project does not implement; its max_exp_avg_sq is dropped.');
  }
  const ids = parameterIds(groups, model);
  const specs = new Map(paramSpecs(model).map((s) => [s.name, s]));
  const m = new Map<string, OfficialTensor>();
  const v = new Map<string, OfficialTensor>();
  const steps = new Set<number>();
  for (const [id, name] of ids) {
    const spec = specs.get(name)!;
    const entry = state.map.get(id);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (entry === undefined) {
      // torch creates a parameter's state at its first update; a parameter never updated has zero moments.
      m.set(name, { shape: spec.shape, data: new Float32Array(n) });
      v.set(name, { shape: spec.shape, data: new Float32Array(n) });
      continue;
    }
    if (!(entry instanceof PyDict)) throw new Error(`Optimizer state ${id} (${name}) is not a dict.`);
    for (const [key, out] of [['exp_avg', m], ['exp_avg_sq', v]] as const) {
      const t = entry.map.get(key);
      if (!(t instanceof TorchTensor)) throw new Error(`Optimizer state ${id} (${name}) has no ${key} tensor.`);
      if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
        throw new Error(`Optimizer state ${id}.${key} has shape [${t.shape.join(', ')}] but parameter ${id} is ${name} with shape [${spec.shape.join(', ')}]: the parameter order does not match this model.`);
      }
      out.set(name, { shape: spec.shape, data: await archive.readTensor(t) });
    }
    const stepValue = entry.map.get('step');
    const step = stepValue instanceof TorchTensor ? (await archive.readTensor(stepValue))[0] : stepValue;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) throw new Error(`Optimizer state ${id} (${name}) has no valid step count.`);
    steps.add(step);
  }
  if (steps.size > 1) throw new Error(`The optimizer's parameters were updated different numbers of times (${[...steps].join(', ')}); this project keeps one step count.`);
  return { step: steps.size ? [...steps][0] : 0, m, v };
}

type RecordedState = Pick<TrainerState, 'step' | 'imagesSeen' | 'seconds' | 'adamStep' | 'dataRng' | 'noiseRng'>;

/** The exact run `jit export --official` recorded beside the official entries, if it is there and fits the weights. */
function runRecord(v: PickleValue | undefined, inferred: JiTConfig): { config: RunConfig; state: RecordedState } | undefined {
  if (!(v instanceof PyDict) || v.map.get('format') !== RUN_RECORD_FORMAT) return undefined;
  try {
    const config = JSON.parse(String(v.map.get('config'))) as RunConfig;
    const state = JSON.parse(String(v.map.get('state'))) as RecordedState;
    const keys = ['inputSize', 'patchSize', 'inChannels', 'hiddenSize', 'depth', 'numHeads', 'bottleneckDim', 'numClasses', 'inContextLen'] as const;
    if (!keys.every((k) => config.model?.[k] === inferred[k])) return undefined;
    validateRunConfig(config);
    return { config, state };
  } catch {
    return undefined; // damaged: the official entries alone still make a run
  }
}

interface OpenedOfficial {
  archive: PthArchive;
  name: string;
  root: PyDict;
  /** A bare state dict (torch.save(model.state_dict())) rather than a training checkpoint. */
  bare: boolean;
  args: Record<string, unknown>;
  epoch?: number;
  online: Map<string, OfficialTensor>;
  model: JiTConfig;
  preset?: Preset;
  record?: { config: RunConfig; state: RecordedState };
  warnings: string[];
}

/** Opens an official checkpoint and reads its online weights and what defines the model; the caller closes it. */
async function openOfficial(file: string, opts: ImportOptions): Promise<OpenedOfficial> {
  const archive = await PthArchive.open(file);
  try {
    const name = path.basename(file);
    const root = archive.root;
    if (!(root instanceof PyDict)) throw new Error(`${name} holds a pickled ${typeof root}, not a checkpoint dict.`);
    const bare = tensorDict(root) !== undefined;
    const modelDict = tensorDict(bare ? root : root.map.get('model'));
    if (!modelDict) throw new Error(`${name} has no 'model' state dict of tensors; it is not a JiT training checkpoint.`);
    const warnings: string[] = [];
    const argsValue = bare ? undefined : root.map.get('args');
    const args = (argsValue instanceof PyNamespace || argsValue instanceof PyDict ? toPlain(argsValue) : {}) as Record<string, unknown>;
    const epochValue = bare ? undefined : root.map.get('epoch');
    const epoch = typeof epochValue === 'number' ? epochValue : undefined;

    const online = await readSection(archive, modelDict, 'model');
    const inferred = inferModelConfig(online);
    const record = bare ? undefined : runRecord(root.map.get(RUN_RECORD_KEY), inferred);
    const preset = presetMatching(args.model, inferred);
    if (typeof args.model === 'string' && PRESETS[args.model] && !preset && !record) warnings.push(`args.model says ${args.model} but the tensor shapes differ from that preset; the shapes were used.`);
    let inContextStart = opts.inContextStart ?? record?.config.model.inContextStart ?? preset?.model.inContextStart ?? inferred.inContextStart;
    if (inferred.inContextLen === 0) inContextStart = 0;
    else if (opts.inContextStart === undefined && !preset && !record) {
      warnings.push(`The block where the in-context tokens start is not stored in a checkpoint; assumed ${inContextStart} (set it with --in-context-start).`);
    }
    const model: JiTConfig = { ...inferred, inContextStart, freezePatchEmbed: record?.config.model.freezePatchEmbed ?? false };
    const imgSize = argNumber(args, 'img_size');
    if (imgSize !== undefined && imgSize !== model.inputSize) throw new Error(`${name}: args.img_size is ${imgSize} but the weights are for ${model.inputSize} px images.`);
    const classNum = argNumber(args, 'class_num');
    if (classNum !== undefined && classNum !== model.numClasses) throw new Error(`${name}: args.class_num is ${classNum} but the label embedding has ${model.numClasses} classes (+1 null).`);
    // Strict, like load_state_dict(strict=True): every tensor present with its shape, nothing extra.
    checkOfficialTensors(model, online);
    const known = new Set(paramSpecs(model).map((s) => s.name));
    const extra = [...online.keys()].find((k) => !known.has(k));
    if (extra) throw new Error(`${name}: model tensor ${extra} is not part of a JiT Denoiser of this configuration.`);
    return { archive, name, root, bare, args, epoch, online, model, preset, record, warnings };
  } catch (e) {
    archive.close();
    throw e;
  }
}

/** The optimizer's step count (torch keeps one per parameter; the first stands for all), 0 without state. */
export async function optimizerStep(archive: PthArchive, opt: PickleValue | undefined): Promise<number> {
  const state = opt instanceof PyDict ? opt.map.get('state') : undefined;
  const first = state instanceof PyDict ? [...state.map.values()][0] : undefined;
  const v = first instanceof PyDict ? first.map.get('step') : undefined;
  const step = v instanceof TorchTensor ? (await archive.readTensor(v))[0] : v;
  return typeof step === 'number' && Number.isFinite(step) ? step : 0;
}

/**
 * One weights copy of an official checkpoint, for sampling and the views (only that section is read), with the
 * model, the optimizer step and the run configuration its args imply.
 */
export async function readOfficialWeights(file: string, which: WeightsChoice, opts: ImportOptions = {}): Promise<{ model: JiTConfig; weights: Map<string, OfficialTensor>; step: number; epoch?: number; run: RunConfig }> {
  const o = await openOfficial(file, opts);
  try {
    let weights = o.online;
    if (which !== 'online') {
      const key = which === 'ema1' ? 'model_ema1' : 'model_ema2';
      const d = tensorDict(o.bare ? undefined : o.root.map.get(key));
      if (!d) throw new Error(`${o.name} has no ${key}; use the online weights.`);
      weights = await readSection(o.archive, d, key);
      checkOfficialTensors(o.model, weights);
    }
    const opt = o.bare ? undefined : o.root.map.get('optimizer');
    const step = o.record?.state.step ?? (await optimizerStep(o.archive, opt));
    const run = o.record ? { ...o.record.config, model: o.model } : runConfigFromArgs(o.args, o.model, o.preset, step, o.epoch, undefined, opt instanceof PyDict ? opt : undefined);
    return { model: o.model, weights, step, epoch: o.epoch, run };
  } finally {
    o.archive.close();
  }
}

/** Reads an official JiT checkpoint (or a bare state dict saved with torch.save) into this project's terms. */
export async function readOfficialCheckpoint(file: string, opts: ImportOptions = {}): Promise<OfficialCheckpoint> {
  const { archive, name, root, bare, args, epoch, online, model, preset, record, warnings } = await openOfficial(file, opts);
  try {
    const ema = async (key: 'model_ema1' | 'model_ema2'): Promise<Map<string, OfficialTensor>> => {
      const d = tensorDict(bare ? undefined : root.map.get(key));
      if (!d) {
        warnings.push(`${name} has no ${key}; that EMA copy starts from the online weights.`);
        return new Map(online);
      }
      const m = await readSection(archive, d, key);
      checkOfficialTensors(model, m);
      return m;
    };
    const ema1 = await ema('model_ema1');
    const ema2 = await ema('model_ema2');

    const opt = bare ? undefined : root.map.get('optimizer');
    let adam: { step: number; m: Map<string, OfficialTensor>; v: Map<string, OfficialTensor> };
    if (opt instanceof PyDict) adam = await readAdam(archive, opt, model, warnings);
    else {
      warnings.push(`${name} has no optimizer state; the AdamW moments start at zero.`);
      adam = { step: 0, m: new Map(), v: new Map() };
      for (const s of paramSpecs(model).filter((x) => x.trainable)) {
        const n = s.shape.reduce((a, b) => a * b, 1);
        adam.m.set(s.name, { shape: s.shape, data: new Float32Array(n) });
        adam.v.set(s.name, { shape: s.shape, data: new Float32Array(n) });
      }
    }

    // A file this project exported carries its exact run; anything the official code saved is read from args.
    const config = record ? { ...record.config, model, data: opts.data ?? record.config.data } : runConfigFromArgs(args, model, preset, adam.step, epoch, opts.data, opt instanceof PyDict ? opt : undefined);
    const state: TrainerState = {
      step: adam.step,
      imagesSeen: adam.step * config.batch,
      seconds: 0,
      online, ema1, ema2,
      adamStep: adam.step,
      adamM: adam.m,
      adamV: adam.v,
      // torch's random state does not carry over; the streams start from the seed.
      dataRng: new Rng(`data:${config.seed}`).state(),
      noiseRng: new Rng(`noise:${config.seed}`).state(),
      ...(record && record.state.step === adam.step ? record.state : {}),
    };
    return { config, state, epoch, args, warnings };
  } finally {
    archive.close();
  }
}

/** The run configuration an official run implies (official argument names of main_jit.py). */
function runConfigFromArgs(args: Record<string, unknown>, model: JiTConfig, preset: Preset | undefined, step: number,
  epoch: number | undefined, data: DataSpec | undefined, opt: PyDict | undefined): RunConfig {
  const a = (k: string) => argNumber(args, k);
  // batch_size is per GPU; main_jit.py records the number of processes in world_size.
  const perGpu = a('batch_size');
  const batch = perGpu !== undefined ? perGpu * (a('world_size') ?? 1) : preset?.train.batch ?? 256;
  const blr = a('blr') ?? 5e-5;
  // Official schedules count in epochs; with the step count and epoch known, warmup epochs convert to steps.
  const stepsPerEpoch = epoch !== undefined && epoch >= 0 && step > 0 ? Math.max(1, Math.round(step / (epoch + 1))) : undefined;
  const warmupEpochs = a('warmup_epochs');
  const groupDecays = opt ? (toPlain(opt.map.get('param_groups') ?? []) as { weight_decay?: unknown }[]).map((g) => (typeof g.weight_decay === 'number' ? g.weight_decay : 0)) : [];
  const cfg: RunConfig = {
    preset: preset?.name ?? (typeof args.model === 'string' && args.model ? args.model : 'imported'),
    model,
    diffusion: {
      pMean: a('P_mean') ?? DEFAULT_DIFFUSION.pMean,
      pStd: a('P_std') ?? DEFAULT_DIFFUSION.pStd,
      tEps: a('t_eps') ?? DEFAULT_DIFFUSION.tEps,
      noiseScale: a('noise_scale') ?? (model.inputSize >= 512 ? 2 : 1),
      labelDropProb: a('label_drop_prob') ?? DEFAULT_DIFFUSION.labelDropProb,
      target: 'x',
    },
    data: data ?? { kind: 'builtin' },
    steps: Math.max(1, step),
    batch,
    blr,
    lr: a('lr') ?? peakLr(blr, batch),
    schedule: args.lr_schedule === 'cosine' ? 'cosine' : 'constant',
    warmupSteps: warmupEpochs !== undefined && stepsPerEpoch !== undefined ? Math.round(warmupEpochs * stepsPerEpoch) : 0,
    minLr: a('min_lr') ?? 0,
    weightDecay: a('weight_decay') ?? Math.max(0, ...groupDecays),
    emaDecay1: a('ema_decay1') ?? preset?.train.emaDecay1 ?? 0.9999,
    emaDecay2: a('ema_decay2') ?? preset?.train.emaDecay2 ?? 0.9996,
    seed: a('seed') ?? 0,
    sampleEvery: 250,
    checkpointEvery: 500,
    keepCheckpoints: 3,
    preview: { n: Math.min(16, Math.max(8, model.numClasses)), steps: 20, method: 'heun', cfgScale: 1.0, weights: 'ema1' },
  };
  validateRunConfig(cfg);
  return cfg;
}

export interface ImportResult extends OfficialCheckpoint {
  /** The checkpoint written. */
  file: string;
  /** The run folder created, when the output was a folder. */
  runDir?: string;
}

/**
 * Imports an official .pth. `out` ending in .safetensors receives the checkpoint itself; any other `out` becomes a
 * new run folder (run.json + checkpoints/step-<n>.safetensors) that `jit train --resume` continues.
 */
export async function importPth(file: string, out: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const ck = await readOfficialCheckpoint(file, opts);
  const bytes = encodeCheckpoint(ck.config, ck.state);
  if (out.toLowerCase().endsWith('.safetensors')) {
    writeFileAtomic(out, bytes);
    return { ...ck, file: out };
  }
  if (fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
    throw new Error(`${out} already exists and is not an empty folder; give a new folder (or a .safetensors file) as --out.`);
  }
  const p = runPaths(out);
  fs.mkdirSync(p.checkpoints, { recursive: true });
  fs.mkdirSync(p.samples, { recursive: true });
  const target = checkpointFile(p.checkpoints, ck.state.step);
  writeFileAtomic(target, bytes);
  writeJson(p.runFile, {
    name: path.basename(out), preset: ck.config.preset, created: new Date().toISOString(), importedFrom: path.basename(file),
    epoch: ck.epoch, dataset: ck.config.data.kind === 'builtin' ? 'built-in shapes' : ck.config.data.dir, config: ck.config,
  });
  return { ...ck, file: target, runDir: out };
}

export interface ExportResult {
  file: string;
  weights: WeightsChoice;
  tensors: number;
  model: JiTConfig;
}

/**
 * Writes the chosen weights of a checkpoint as the official state dict: exactly the Denoiser's `net.*` keys in
 * state-dict order, PyTorch layouts, float32, with safetensors' {"format": "pt"} metadata.
 */
export function exportForPyTorch(checkpoint: string, weights: WeightsChoice, out: string): ExportResult {
  const { model, weights: tensors } = loadWeights(checkpoint, weights);
  const specs = checkOfficialTensors(model, tensors);
  const bytes = encodeSafetensors(specs.map((s) => ({ name: s.name, shape: s.shape, data: tensors.get(s.name)!.data })), { format: 'pt' });
  writeFileAtomic(out, bytes);
  return { file: out, weights, tensors: specs.length, model };
}
