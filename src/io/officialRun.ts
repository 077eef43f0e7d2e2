// Handing a run to the official JiT code (LTH14/JiT, main_jit.py under torchrun): a checkpoint of this project
// becomes <output_dir>/checkpoint-last.pth exactly as misc.save_model writes it, which `--resume <output_dir>`
// continues: {model, model_ema1, model_ema2} as Denoiser state dicts, optimizer as torch.optim.AdamW's state dict
// over the groups of misc.add_weight_decay, epoch (the last epoch completed: training restarts at epoch + 1) and
// args (an argparse.Namespace with main_jit.py's argument names). Facts of the official code this relies on:
// - resume loads folder/checkpoint-last.pth: model with load_state_dict, the EMA lists from model_ema1/2 in
//   named_parameters() order, then optimizer and epoch;
// - AdamW(add_weight_decay(model, wd), lr, betas=(0.9, 0.95)): group 0 = trainable parameters that are 1-D or
//   named *.bias (no weight decay), group 1 = the rest, each in named_parameters() order; its state_dict numbers
//   the state by position over group 0 then group 1, each {step, exp_avg, exp_avg_sq};
// - the learning rate follows the epoch (warmup_epochs, then constant or cosine), lr = blr * batch * GPUs / 256.
import * as path from 'path';
import { JiTConfig, PRESETS } from '../jit/config';
import { OfficialTensor, paramSpecs } from '../jit/params';
import { JIT_ADAMW, decays } from '../jit/optim';
import type { RunConfig } from './runConfig';
import type { TrainerState } from './trainerState';
import { loadCheckpoint } from './checkpoint';
import { Picklable, PyFloat, PyNamespaceOut, PyOrderedDict, PyTupleOut, TensorOut } from './pickleWriter';
import { writePth } from './pthWriter';

export const OFFICIAL_LAST_CHECKPOINT = 'checkpoint-last.pth';
export const OFFICIAL_CHECKPOINT_RE = /^checkpoint-(\d+|last)\.pth$/;
/** The models main_jit.py knows without an added JiT_models entry. */
export const OFFICIAL_MODELS = ['JiT-B/16', 'JiT-B/32', 'JiT-L/16', 'JiT-L/32', 'JiT-H/16', 'JiT-H/32'];
/** A key the official code never reads: this project's exact run configuration and state, for `jit import`. */
export const RUN_RECORD_KEY = 'jit_explorer';
export const RUN_RECORD_FORMAT = 'jit-explorer-run/1';

type ArgKind = 'int' | 'float' | 'str' | 'bool';

/** main_jit.py's arguments with their types and defaults (get_args_parser), in its order. */
const OFFICIAL_ARGS: { name: string; kind: ArgKind; default: number | string | boolean | null }[] = [
  { name: 'model', kind: 'str', default: 'JiT-B/16' },
  { name: 'img_size', kind: 'int', default: 256 },
  { name: 'attn_dropout', kind: 'float', default: 0 },
  { name: 'proj_dropout', kind: 'float', default: 0 },
  { name: 'epochs', kind: 'int', default: 200 },
  { name: 'warmup_epochs', kind: 'int', default: 5 },
  { name: 'batch_size', kind: 'int', default: 128 },
  { name: 'lr', kind: 'float', default: null },
  { name: 'blr', kind: 'float', default: 5e-5 },
  { name: 'min_lr', kind: 'float', default: 0 },
  { name: 'lr_schedule', kind: 'str', default: 'constant' },
  { name: 'weight_decay', kind: 'float', default: 0 },
  { name: 'ema_decay1', kind: 'float', default: 0.9999 },
  { name: 'ema_decay2', kind: 'float', default: 0.9996 },
  { name: 'P_mean', kind: 'float', default: -0.8 },
  { name: 'P_std', kind: 'float', default: 0.8 },
  { name: 'noise_scale', kind: 'float', default: 1 },
  { name: 't_eps', kind: 'float', default: 0.05 },
  { name: 'label_drop_prob', kind: 'float', default: 0.1 },
  { name: 'seed', kind: 'int', default: 0 },
  { name: 'start_epoch', kind: 'int', default: 0 },
  { name: 'num_workers', kind: 'int', default: 12 },
  { name: 'pin_mem', kind: 'bool', default: true },
  { name: 'sampling_method', kind: 'str', default: 'heun' },
  { name: 'num_sampling_steps', kind: 'int', default: 50 },
  { name: 'cfg', kind: 'float', default: 1 },
  { name: 'interval_min', kind: 'float', default: 0 },
  { name: 'interval_max', kind: 'float', default: 1 },
  { name: 'num_images', kind: 'int', default: 50000 },
  { name: 'eval_freq', kind: 'int', default: 40 },
  { name: 'online_eval', kind: 'bool', default: false },
  { name: 'evaluate_gen', kind: 'bool', default: false },
  { name: 'gen_bsz', kind: 'int', default: 256 },
  { name: 'data_path', kind: 'str', default: './data/imagenet' },
  { name: 'class_num', kind: 'int', default: 1000 },
  { name: 'output_dir', kind: 'str', default: './output_dir' },
  { name: 'resume', kind: 'str', default: '' },
  { name: 'save_last_freq', kind: 'int', default: 5 },
  { name: 'log_freq', kind: 'int', default: 100 },
  { name: 'device', kind: 'str', default: 'cuda' },
  { name: 'world_size', kind: 'int', default: 1 },
  { name: 'local_rank', kind: 'int', default: -1 },
  { name: 'dist_on_itp', kind: 'bool', default: false },
  { name: 'dist_url', kind: 'str', default: 'env://' },
];

/** Arguments the continue command always names (they define the run); the rest only where not the default. */
const ALWAYS_PASSED = new Set(['model', 'img_size', 'class_num', 'batch_size', 'blr', 'epochs', 'warmup_epochs', 'noise_scale', 'data_path', 'output_dir', 'resume']);
/** Arguments that describe a machine or a session, never passed on. */
const NEVER_PASSED = new Set(['lr', 'start_epoch', 'world_size', 'local_rank', 'dist_on_itp', 'dist_url', 'device', 'num_workers', 'pin_mem']);

export type OfficialArgs = Record<string, number | string | boolean | null>;

export interface OfficialExportOptions {
  /** Images in one epoch of the data the official code trains on (the epoch counter follows it). */
  datasetSize: number;
  /** GPUs per node (torchrun --nproc_per_node) and nodes (--nnodes). */
  gpus?: number;
  nodes?: number;
  /** Batch per GPU; default: the run's batch split over the GPUs. */
  batchPerGpu?: number;
  /** The official --data_path (a folder holding train/<class>/...). */
  dataPath?: string;
}

export interface OfficialExport {
  file: string;
  /** The epoch recorded (the last one completed); the official code continues at epoch + 1. */
  epoch: number;
  imagesSeen: number;
  /** Images of the unfinished epoch, which the official code sees again. */
  leftoverImages: number;
  args: OfficialArgs;
  /** The torchrun line that continues the run. */
  command: string;
  /** For a model main_jit.py does not know: the JiT_models entry to add to model_jit.py. */
  modelEntry?: string;
  notes: string[];
}

/** The learning rate util/lr_sched.py sets at (fractional) `epoch`. */
export function officialLrAt(args: OfficialArgs, epoch: number): number {
  const lr = Number(args.lr);
  const warmup = Number(args.warmup_epochs);
  if (epoch < warmup) return (lr * epoch) / warmup;
  if (args.lr_schedule !== 'cosine') return lr;
  const minLr = Number(args.min_lr);
  return minLr + (lr - minLr) * 0.5 * (1 + Math.cos((Math.PI * (epoch - warmup)) / (Number(args.epochs) - warmup)));
}

/** The lines to add to model_jit.py so that JiT_models knows `name` (the official presets need none). */
export function jitModelsEntry(name: string, m: JiTConfig): string {
  const fn = name.replace(/[^A-Za-z0-9]/g, '_');
  const ratio = m.mlpRatio !== 4 ? `, mlp_ratio=${m.mlpRatio}` : '';
  return [
    `def ${fn}(**kwargs):`,
    `    return JiT(depth=${m.depth}, hidden_size=${m.hiddenSize}, num_heads=${m.numHeads}, bottleneck_dim=${m.bottleneckDim},`,
    `               in_context_len=${m.inContextLen}, in_context_start=${m.inContextStart}, patch_size=${m.patchSize}${ratio}, **kwargs)`,
    `JiT_models[${JSON.stringify(name)}] = ${fn}`,
  ].join('\n');
}

/** The parameters the official optimizer holds, by group: add_weight_decay over named_parameters(). */
export function officialParamGroups(model: JiTConfig): [string[], string[]] {
  // The official code trains every parameter but the fixed pos_embed (it has no frozen patch embedding).
  const trainable = paramSpecs({ ...model, freezePatchEmbed: false }).filter((s) => s.trainable);
  return [trainable.filter((s) => !decays(s.name, s.shape)).map((s) => s.name), trainable.filter((s) => decays(s.name, s.shape)).map((s) => s.name)];
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const fmtNumber = (x: number) => String(Number(x.toPrecision(8)));

function tensorOut(t: OfficialTensor): TensorOut {
  return new TensorOut('F32', t.shape, t.data);
}

/** A Denoiser state dict: every tensor in state-dict order; frozen ones an EMA section omits come from `online`. */
function stateDict(model: JiTConfig, section: Map<string, OfficialTensor>, online: Map<string, OfficialTensor>): PyOrderedDict {
  const d = new PyOrderedDict();
  for (const s of paramSpecs(model)) {
    const t = section.get(s.name) ?? online.get(s.name);
    if (!t) throw new Error(`The checkpoint has no ${s.name}; it cannot be handed to the official code.`);
    d.set(s.name, tensorOut(t));
  }
  return d;
}

/** torch.optim.AdamW(...).state_dict() for the official groups. Parameters never updated here have no state. */
function optimizerState(model: JiTConfig, cfg: RunConfig, st: TrainerState, lr: number): Map<string, Picklable> {
  const groups = officialParamGroups(model);
  const state = new Map<string | number, Picklable>();
  let id = 0;
  const paramGroups = groups.map((names, gi) => {
    const ids: number[] = [];
    for (const name of names) {
      const m = st.adamM.get(name);
      const v = st.adamV.get(name);
      if (m && v && st.adamStep > 0) {
        state.set(id, new Map<string, Picklable>([
          ['step', new TensorOut('F32', [], Float32Array.of(st.adamStep))],
          ['exp_avg', tensorOut(m)],
          ['exp_avg_sq', tensorOut(v)],
        ]));
      }
      ids.push(id++);
    }
    return new Map<string, Picklable>([
      ['lr', new PyFloat(lr)],
      ['betas', new PyTupleOut([new PyFloat(JIT_ADAMW.beta1), new PyFloat(JIT_ADAMW.beta2)])],
      ['eps', new PyFloat(JIT_ADAMW.eps)],
      ['weight_decay', new PyFloat(gi === 0 ? 0 : cfg.weightDecay)],
      ['amsgrad', false],
      ['foreach', null],
      ['maximize', false],
      ['capturable', false],
      ['params', ids],
    ]);
  });
  return new Map<string, Picklable>([['state', state], ['param_groups', paramGroups]]);
}

function namespace(args: OfficialArgs): PyNamespaceOut {
  const attributes = new Map<string, Picklable>();
  for (const a of OFFICIAL_ARGS) {
    const v = args[a.name];
    attributes.set(a.name, a.kind === 'float' && typeof v === 'number' ? new PyFloat(v) : v ?? null);
  }
  return new PyNamespaceOut(attributes);
}

/** The torchrun line: every argument that defines the run, the rest where it is not main_jit.py's default. */
function continueCommand(args: OfficialArgs, gpus: number, nodes: number): string {
  const parts = ['torchrun', `--nproc_per_node=${gpus}`];
  if (nodes > 1) parts.push(`--nnodes=${nodes}`, '--node_rank=$NODE_RANK', '--master_addr=$MASTER_ADDR', '--master_port=29500');
  parts.push('main_jit.py');
  for (const a of OFFICIAL_ARGS) {
    const v = args[a.name];
    if (NEVER_PASSED.has(a.name) || v === null || v === undefined) continue;
    if (!ALWAYS_PASSED.has(a.name) && v === a.default) continue;
    if (a.kind === 'bool') {
      if (v === true) parts.push(`--${a.name}`);
      continue;
    }
    parts.push(`--${a.name}`, typeof v === 'number' ? fmtNumber(v) : shellQuote(String(v)));
  }
  return parts.join(' ');
}

/** Writes <outputDir>/checkpoint-last.pth from a checkpoint of this project; see the file comment. */
export function exportOfficial(checkpoint: string, outputDir: string, opts: OfficialExportOptions): OfficialExport {
  const { config: cfg, state: st } = loadCheckpoint(checkpoint);
  const model = cfg.model;
  const notes: string[] = [];
  if (cfg.diffusion.target !== 'x') throw new Error(`This run predicts ${cfg.diffusion.target}; the official code trains x-prediction only, so it cannot continue it.`);
  if (!Number.isSafeInteger(opts.datasetSize) || opts.datasetSize < 1) throw new Error(`The data set size must be a positive whole number of images, got ${opts.datasetSize}.`);
  const gpus = opts.gpus ?? 1;
  const nodes = opts.nodes ?? 1;
  const world = gpus * nodes;
  const batchPerGpu = opts.batchPerGpu ?? Math.max(1, Math.round(cfg.batch / world));
  const effBatch = batchPerGpu * world;
  // Keep the learning rate the run trains with, whatever the effective batch: blr is scaled to match.
  const blr = (cfg.lr * 256) / effBatch;
  if (effBatch !== cfg.batch) notes.push(`The effective batch changes from ${cfg.batch} to ${effBatch} (${batchPerGpu} x ${world} GPUs); the learning rate stays ${fmtNumber(cfg.lr)} (blr ${fmtNumber(blr)}).`);
  if (model.freezePatchEmbed) notes.push('This run kept the patch embedding frozen; the official code trains it from here on (its AdamW moments start at zero).');

  const N = opts.datasetSize;
  const completed = Math.floor(st.imagesSeen / N);
  const leftoverImages = st.imagesSeen - completed * N;
  const epoch = completed - 1;
  const warmupImages = cfg.warmupSteps * cfg.batch;
  let warmupEpochs = Math.round(warmupImages / N);
  // A run past its warmup must not warm up again when the epochs are rounded.
  if (st.step >= cfg.warmupSteps) warmupEpochs = Math.min(warmupEpochs, completed);
  const plannedEpochs = Math.ceil((cfg.steps * cfg.batch) / N);
  const epochs = Math.max(plannedEpochs, completed + 1);
  // A preset's name stands for its dimensions; a run whose dimensions differ needs a name of its own.
  const preset = PRESETS[cfg.preset];
  const dims = ['inputSize', 'patchSize', 'hiddenSize', 'depth', 'numHeads', 'mlpRatio', 'bottleneckDim', 'inContextLen', 'inContextStart'] as const;
  const name = !preset || dims.every((k) => preset.model[k] === model[k]) ? cfg.preset : `${cfg.preset}-custom`;
  const dataPath = opts.dataPath ?? (cfg.data.kind === 'folder' && path.basename(cfg.data.dir) === 'train' ? path.dirname(cfg.data.dir) : '/path/to/data');
  if (cfg.data.kind === 'builtin') notes.push('This run trained on the built-in shapes, which exist only in JiT Explorer: give --data_path a folder holding train/<class>/<image>.');
  else if (!opts.dataPath && path.basename(cfg.data.dir) !== 'train') notes.push(`The official code reads <data_path>/train/<class>/<image>: point --data_path at a folder whose train/ is ${cfg.data.dir}.`);

  const args: OfficialArgs = {};
  for (const a of OFFICIAL_ARGS) args[a.name] = a.default;
  Object.assign(args, {
    model: name, img_size: model.inputSize, epochs, warmup_epochs: warmupEpochs, batch_size: batchPerGpu, lr: cfg.lr, blr,
    min_lr: cfg.minLr, lr_schedule: cfg.schedule, weight_decay: cfg.weightDecay, ema_decay1: cfg.emaDecay1, ema_decay2: cfg.emaDecay2,
    P_mean: cfg.diffusion.pMean, P_std: cfg.diffusion.pStd, noise_scale: cfg.diffusion.noiseScale, t_eps: cfg.diffusion.tEps,
    label_drop_prob: cfg.diffusion.labelDropProb, seed: cfg.seed, start_epoch: completed, cfg: cfg.preview.cfgScale, interval_min: 0.1,
    interval_max: 1.0, data_path: dataPath, class_num: model.numClasses, output_dir: outputDir, resume: outputDir, world_size: world,
  } satisfies OfficialArgs);
  if (cfg.schedule === 'cosine' && epochs <= warmupEpochs) notes.push('Raise --epochs above --warmup_epochs: the cosine schedule needs epochs after the warmup.');

  const lr = officialLrAt(args, completed);
  const root = new Map<string, Picklable>([
    ['model', stateDict(model, st.online, st.online)],
    ['optimizer', optimizerState(model, cfg, st, lr)],
    ['epoch', epoch],
    ['args', namespace(args)],
    ['model_ema1', stateDict(model, st.ema1, st.online)],
    ['model_ema2', stateDict(model, st.ema2, st.online)],
    [RUN_RECORD_KEY, new Map<string, Picklable>([
      ['format', RUN_RECORD_FORMAT],
      ['config', JSON.stringify(cfg)],
      ['state', JSON.stringify({ step: st.step, imagesSeen: st.imagesSeen, seconds: st.seconds, adamStep: st.adamStep, dataRng: st.dataRng, noiseRng: st.noiseRng })],
    ])],
  ]);
  const file = path.join(outputDir, OFFICIAL_LAST_CHECKPOINT);
  writePth(file, root, { prefix: 'checkpoint-last' });
  if (leftoverImages > 0) notes.push(`The official code resumes at an epoch boundary: the ${leftoverImages} images of the unfinished epoch ${completed} are seen again.`);
  return {
    file, epoch, imagesSeen: st.imagesSeen, leftoverImages, args,
    command: continueCommand(args, gpus, nodes),
    modelEntry: OFFICIAL_MODELS.includes(name) ? undefined : jitModelsEntry(name, model),
    notes,
  };
}
