// Output folders of the official JiT code (main_jit.py --output_dir) as runs: TensorBoard event files
// (train_loss and lr at x = epoch x 1000, fid_* and is_* at x = epoch) and checkpoint-<epoch>.pth /
// checkpoint-last.pth. No run.json: what defines the run is the args pickled in its checkpoints. Samples that
// JiT Explorer makes from its checkpoints go to <output_dir>/samples/ (a name the official code never uses), laid
// out as in a run of this project, so the gallery and trajectory viewer treat both alike.
import * as fs from 'fs';
import * as path from 'path';
import { OFFICIAL_CHECKPOINT_RE, OFFICIAL_LAST_CHECKPOINT } from './officialRun';
import { CHECKPOINT_RE, RUN_FILE, listCheckpoints, runPaths } from './runs';
import { listEventFiles } from './tensorboard/reader';
import type { DecodedEvent } from './tensorboard/proto';
import { optimizerStep } from './convert';
import { PyDict, PyNamespace } from './pickle';
import { PthArchive, toPlain } from './pth';

export interface OfficialCheckpointFile {
  file: string;
  /** From the file name (checkpoint-100.pth); undefined for checkpoint-last.pth (its epoch is inside). */
  epoch?: number;
}

export interface OfficialRunSummary {
  dir: string;
  name: string;
  checkpoints: OfficialCheckpointFile[];
  eventFiles: string[];
}

/** The official checkpoints of a folder: numbered ones by epoch, then checkpoint-last.pth (the newest). */
export function listOfficialCheckpoints(dir: string): OfficialCheckpointFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found = names.map((n) => ({ n, m: OFFICIAL_CHECKPOINT_RE.exec(n) })).filter((x) => x.m)
    .map((x) => ({ file: path.join(dir, x.n), epoch: x.m![1] === 'last' ? undefined : Number(x.m![1]) }));
  return found.sort((a, b) => (a.epoch ?? Infinity) - (b.epoch ?? Infinity));
}

/** A folder the official code wrote: event files or official checkpoints, and no run.json of this project. */
export function isOfficialOutput(dir: string): boolean {
  if (fs.existsSync(path.join(dir, RUN_FILE))) return false;
  return listEventFiles(dir).length > 0 || listOfficialCheckpoints(dir).length > 0;
}

/** A run folder of either kind. */
export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILE)) || isOfficialOutput(dir);
}

/** The run folder a checkpoint belongs to: <run>/checkpoints/step-<n>.safetensors, or <output_dir>/checkpoint-*.pth. */
export function runDirOfCheckpoint(file: string): string {
  const name = path.basename(file);
  if (OFFICIAL_CHECKPOINT_RE.test(name) && !CHECKPOINT_RE.test(name)) return path.dirname(file);
  return path.dirname(path.dirname(file));
}

/** The newest checkpoint of a run folder of either kind. */
export function latestCheckpoint(dir: string): string | undefined {
  if (isOfficialOutput(dir)) {
    const all = listOfficialCheckpoints(dir);
    return all.find((c) => path.basename(c.file) === OFFICIAL_LAST_CHECKPOINT)?.file ?? all.at(-1)?.file;
  }
  return listCheckpoints(dir).at(-1)?.file;
}

function summary(dir: string): OfficialRunSummary {
  return { dir, name: path.basename(dir), checkpoints: listOfficialCheckpoints(dir), eventFiles: listEventFiles(dir) };
}

/**
 * The official runs in `folders`: each folder that is an output folder itself, and the output folders directly
 * inside it (a synced or mounted folder of a cluster's runs), by name.
 */
export function discoverOfficialRuns(folders: string[]): OfficialRunSummary[] {
  const out = new Map<string, OfficialRunSummary>();
  for (const folder of folders) {
    if (isOfficialOutput(folder)) out.set(folder, summary(folder));
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch {
      continue; // not there (yet): a mount that is down shows nothing rather than failing
    }
    for (const e of entries) {
      const dir = path.join(folder, e.name);
      if (e.isDirectory() && !e.name.startsWith('.') && e.name !== path.basename(runPaths(dir).samples) && isOfficialOutput(dir)) out.set(dir, summary(dir));
    }
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** One point of an official run's training curve. */
export interface OfficialRow {
  /** The official x: int(epoch x 1000). */
  x: number;
  epoch: number;
  loss?: number;
  lr?: number;
}

/**
 * Collects train_loss and lr into rows by x, as the official code logs them (one event per scalar). A row at or
 * before an x seen already (a resume from an earlier checkpoint) drops what came after it, as TensorBoard purges
 * orphaned steps: the rows are the run's current history.
 */
export class OfficialCurve {
  readonly rows: OfficialRow[] = [];
  /** Sample-quality values logged at x = epoch (fid_cfg<cfg>_res<size>, is_...). */
  readonly evaluations = new Map<string, [number, number][]>();

  /** Adds an event; returns 'rewind' when it went back in x (the rows were cut), else 'append'. */
  add(e: DecodedEvent): 'append' | 'rewind' {
    let result: 'append' | 'rewind' = 'append';
    for (const s of e.scalars) {
      if (s.tag !== 'train_loss' && s.tag !== 'lr') {
        if (/^(fid|is)_/.test(s.tag)) (this.evaluations.get(s.tag) ?? this.evaluations.set(s.tag, []).get(s.tag)!).push([e.step, s.value]);
        continue;
      }
      const key = s.tag === 'train_loss' ? 'loss' : 'lr';
      let last = this.rows.at(-1);
      if (last && (e.step < last.x || (e.step === last.x && last[key] !== undefined))) {
        while (this.rows.length && this.rows[this.rows.length - 1].x >= e.step) this.rows.pop();
        result = 'rewind';
        last = this.rows.at(-1);
      }
      // The second scalar of an x (lr after train_loss) fills the same row.
      let row = last;
      if (!row || row.x !== e.step) this.rows.push((row = { x: e.step, epoch: e.step / 1000 }));
      row[key] = s.value;
    }
    return result;
  }
}

/** What an official checkpoint says about its run, without reading its weights. */
export interface OfficialRunInfo {
  file: string;
  /** main_jit.py's arguments as plain data ({} if the file has none). */
  args: Record<string, unknown>;
  epoch?: number;
  /** Optimizer steps (iterations) so far, from the AdamW state. */
  step?: number;
  /** Iterations per epoch, when the step and epoch tell it (steps / (epoch + 1)). */
  itersPerEpoch?: number;
}

export async function readOfficialRunInfo(file: string): Promise<OfficialRunInfo> {
  const archive = await PthArchive.open(file);
  try {
    const root = archive.root;
    const get = (k: string) => (root instanceof PyDict ? root.map.get(k) : undefined);
    const a = get('args');
    const args = (a instanceof PyNamespace || a instanceof PyDict ? toPlain(a) : {}) as Record<string, unknown>;
    const e = get('epoch');
    const epoch = typeof e === 'number' ? e : undefined;
    const step = (await optimizerStep(archive, get('optimizer'))) || undefined;
    const itersPerEpoch = step !== undefined && epoch !== undefined && epoch >= 0 && step > 0 ? step / (epoch + 1) : undefined;
    return { file, args, epoch, step, itersPerEpoch };
  } finally {
    archive.close();
  }
}

/** The checkpoints of a run folder of either kind, oldest first; an official one's step is its epoch (-1: last). */
export function runCheckpoints(dir: string): { file: string; step: number }[] {
  if (!isOfficialOutput(dir)) return listCheckpoints(dir);
  return listOfficialCheckpoints(dir).map((c) => ({ file: c.file, step: c.epoch ?? -1 }));
}
