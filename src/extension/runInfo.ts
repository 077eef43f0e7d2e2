// What a run folder says about itself (run.json), turned into what the views show. No vscode import.
import * as fs from 'fs';
import * as path from 'path';
import { discoverRuns, runPaths } from '../io/runs';
import type { QualityRecord } from '../quality/record';
import { RunSeries } from './runSeries';
import type { RunConfig, RunFile } from '../io/runConfig';
import type { OfficialRunInfo } from '../io/officialOutput';
import type { RunChoice, RunView } from '../wire/dashboardMessages';

export function readRunFile(runDir: string): RunFile | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(runPaths(runDir).runFile, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as RunFile) : undefined;
  } catch {
    return undefined;
  }
}

const fmt = (x: unknown) => (typeof x === 'number' ? (Math.abs(x) > 0 && Math.abs(x) < 1e-3 ? x.toExponential(2) : String(x)) : typeof x === 'string' ? x : '—');

export function configRows(c: RunConfig | undefined): [string, string][] {
  if (!c || typeof c !== 'object') return [['Configuration', 'run.json is missing or unreadable']];
  // run.json comes from disk: any part may be missing (an older or hand-edited file), so every field is optional here.
  const m: Partial<RunConfig['model']> = c.model ?? {};
  const d: Partial<RunConfig['diffusion']> = c.diffusion ?? {};
  const data = c.data as RunConfig['data'] | undefined;
  return [
    ['Preset', fmt(c.preset)],
    ['Model', `${fmt(m.inputSize)} px, patch ${fmt(m.patchSize)}, depth ${fmt(m.depth)}, hidden ${fmt(m.hiddenSize)}, ${fmt(m.numHeads)} heads, bottleneck ${fmt(m.bottleneckDim)}`],
    ['Classes', `${fmt(m.numClasses)}, ${fmt(m.inContextLen)} in-context tokens from block ${fmt(m.inContextStart)}`],
    ['Data', data?.kind === 'folder' ? `${data.dir}${data.hflip ? ' (random flips)' : ''}` : data?.kind === 'builtin' ? 'built-in shapes' : '—'],
    ['Steps', fmt(c.steps)],
    ['Batch', fmt(c.batch)],
    ['Learning rate', `${fmt(c.lr)} (${fmt(c.schedule)}, ${fmt(c.warmupSteps)} warmup steps)`],
    ['Weight decay', fmt(c.weightDecay)],
    ['EMA decays', `${fmt(c.emaDecay1)}, ${fmt(c.emaDecay2)}`],
    ['Prediction target', `${fmt(d.target)} (v-loss)`],
    ['t sampling', `logit-normal(${fmt(d.pMean)}, ${fmt(d.pStd)}), noise scale ${fmt(d.noiseScale)}`],
    ['Seed', fmt(c.seed)],
    ['Samples / checkpoints', `every ${fmt(c.sampleEvery)} / ${fmt(c.checkpointEvery)} steps (keep ${fmt(c.keepCheckpoints)})`],
  ];
}

/** `engine`: what trains the run now (a resumed run can train on another engine than the one that created it). */
export function runView(runDir: string, devices?: string, engine?: string): RunView {
  const f = readRunFile(runDir);
  const c = f?.config;
  return {
    id: path.basename(runDir),
    preset: String(f?.preset ?? c?.preset ?? 'unknown preset'),
    dataset: String(f?.dataset ?? '—'),
    created: String(f?.created ?? ''),
    engine: engine ?? (typeof f?.engine === 'string' ? f.engine : typeof f?.backend === 'string' ? `TensorFlow.js, ${f.backend} backend` : '—'),
    devices: devices ?? '—',
    config: configRows(c),
    totalSteps: typeof c?.steps === 'number' ? c.steps : 0,
    pMean: typeof c?.diffusion?.pMean === 'number' ? c.diffusion.pMean : -0.8,
    pStd: typeof c?.diffusion?.pStd === 'number' && c.diffusion.pStd > 0 ? c.diffusion.pStd : 0.8,
    xAxes: f?.datasetSize ? ['step', 'imagesSeen', 'seconds', 'epoch'] : ['step', 'imagesSeen', 'seconds'],
  };
}

/** Prefix of the ids of official runs among the dashboard's runs (a folder name never holds a slash). */
export const OFFICIAL_ID = 'official/';

/** An official output folder for the dashboard: its args as the configuration, x by epoch (and step when known). */
export function officialRunView(dir: string, info: OfficialRunInfo | undefined): RunView {
  const a = info?.args ?? {};
  const num = (k: string, fallback: number) => (typeof a[k] === 'number' ? (a[k] as number) : fallback);
  const epochs = num('epochs', 0);
  return {
    id: `${OFFICIAL_ID}${path.basename(dir)}`,
    preset: String(a.model ?? 'official run'),
    dataset: String(a.data_path ?? '—'),
    created: info ? `epoch ${info.epoch ?? '?'} in ${path.basename(info.file)}` : 'no checkpoint yet',
    engine: 'official PyTorch code (main_jit.py)',
    devices: typeof a.world_size === 'number' ? `${a.world_size} processes` : '—',
    config: info ? Object.entries(a).map(([k, v]): [string, string] => [k, fmt(typeof v === 'boolean' || v === null ? String(v) : v)]) : [['Configuration', 'the args are read from a checkpoint-*.pth; this folder has none yet']],
    totalSteps: info?.itersPerEpoch ? Math.round(epochs * info.itersPerEpoch) : epochs * 1000,
    pMean: num('P_mean', -0.8),
    pStd: num('P_std', 0.8) > 0 ? num('P_std', 0.8) : 0.8,
    xAxes: info?.itersPerEpoch ? ['epoch', 'step'] : ['epoch'],
  };
}

export function runChoices(root: string | undefined): RunChoice[] {
  if (!root) return [];
  return discoverRuns(root).map((r) => ({
    id: r.name,
    preset: String(r.run?.preset ?? '?'),
    steps: Number(r.run?.config?.steps ?? 0),
  }));
}

/** A run folder under `root` by its id (folder name), refusing anything that is not one of its runs. */
export function runDirById(root: string | undefined, id: string): string | undefined {
  if (!root || !/^[^\\/]+$/.test(id) || id === '.' || id === '..') return undefined;
  const dir = path.join(root, id);
  return fs.existsSync(runPaths(dir).runFile) ? dir : undefined;
}

/**
 * A sample's label: the class name, "unconditional" for the null class (one past the named classes), else the
 * number (a run without names, e.g. an official one, cannot tell the null class from the others by name).
 */
export function classLabel(names: string[], l: number): string {
  return names[l] ?? (names.length && l === names.length ? 'unconditional' : `class ${l}`);
}

/** Class names of a run, for labelling samples. */
export function classNames(runDir: string): string[] {
  return readRunFile(runDir)?.classNames ?? [];
}

/** The evaluation with the lowest Fréchet distance in a run's current history (a resume replaces what followed its step). */
export type BestQuality = Pick<QualityRecord, 'step' | 'fd' | 'fdFloor' | 'classAccuracy'>;

const bestCache = new Map<string, { stamp: string; best: BestQuality | undefined }>();

/** Reads metrics.jsonl again only when it changed (size or modification time), as the Runs tree asks often. */
export function bestQuality(runDir: string): BestQuality | undefined {
  const file = runPaths(runDir).metrics;
  let stamp: string;
  try {
    const st = fs.statSync(file);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
  const cached = bestCache.get(file);
  if (cached?.stamp === stamp) return cached.best;
  let best: BestQuality | undefined;
  for (const r of RunSeries.fromFile(file).quality) if (!best || r.fd < best.fd) best = { step: r.step, fd: r.fd, fdFloor: r.fdFloor, classAccuracy: r.classAccuracy };
  bestCache.set(file, { stamp, best });
  return best;
}
