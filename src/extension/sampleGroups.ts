// The Sample Gallery's model, without VS Code: every sample grid of every run with the settings it was made with
// (from samples/index.jsonl), grouped by run and training step, and the one step the gallery's slider picks for
// all runs together. Grids made during training have no trajectory; grids of "JiT: Sample Images" have one next to them.
import * as fs from 'fs';
import * as path from 'path';
import { hasTrajectory } from '../analysis/trajectoryFile';
import { SampleIndexLine, readJsonLines, runPaths } from '../io/runs';
import { GRID_SCORES_FILE, describeGridScores, isGridScoresLine } from '../quality/record';

export type { SampleIndexLine } from '../io/runs';

export interface SampleEntry {
  file: string;
  step: number;
  /** 'training' for the preview grids written while training, 'sample' for "JiT: Sample Images". */
  origin: 'training' | 'sample';
  settings?: SampleIndexLine;
  trajectory: boolean;
  /** Images in the grid (the index's n; undefined when the index does not say). */
  n?: number;
  mtimeMs: number;
}

export interface StepGroup {
  step: number;
  entries: SampleEntry[];
  /** The CFG x EMA grids scored at this step, one line each. */
  scores: string[];
}

export interface RunGroups {
  runDir: string;
  id: string;
  steps: StepGroup[];
}

const TRAINING_GRID = /^step-(\d+)\.png$/;
const SAMPLED_GRID = /^step-(\d+)-.+\.png$/;

/** The grids of one run, grouped by step (ascending), each with its index line. */
export function runSampleGroups(runDir: string): RunGroups {
  const dir = runPaths(runDir).samples;
  const index = new Map<string, SampleIndexLine>();
  for (const line of readJsonLines<SampleIndexLine>(runPaths(runDir).samplesIndex)) if (line && typeof line.file === 'string') index.set(line.file, line);
  const byStep = new Map<number, SampleEntry[]>();
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.png')) : [];
  for (const name of files) {
    const m = TRAINING_GRID.exec(name) ?? SAMPLED_GRID.exec(name);
    const settings = index.get(name);
    const step = settings?.step ?? (m ? Number(m[1]) : undefined);
    if (step === undefined || !Number.isFinite(step)) continue;
    const file = path.join(dir, name);
    let mtimeMs = 0;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      continue; // removed while listing
    }
    const entry: SampleEntry = {
      file, step, origin: TRAINING_GRID.test(name) ? 'training' : 'sample', settings, trajectory: hasTrajectory(file), n: settings?.n, mtimeMs,
    };
    const list = byStep.get(step) ?? [];
    list.push(entry);
    byStep.set(step, list);
  }
  const scores = readJsonLines(path.join(dir, GRID_SCORES_FILE)).filter(isGridScoresLine);
  const steps = [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, entries]) => ({
    step,
    scores: scores.filter((g) => g.step === step).map(describeGridScores),
    // Training's preview first, then samples oldest first.
    entries: entries.sort((a, b) => (a.origin === b.origin ? a.mtimeMs - b.mtimeMs : a.origin === 'training' ? -1 : 1)),
  }));
  return { runDir, id: path.basename(runDir), steps };
}

/** Every step at which some run has a grid, ascending: the positions of the gallery's one slider. */
export function allSteps(runs: RunGroups[]): number[] {
  return [...new Set(runs.flatMap((r) => r.steps.map((s) => s.step)))].sort((a, b) => a - b);
}

/** What a run shows at the slider's step: its latest group at or before it (or its first, when all are later). */
export function groupAt(run: RunGroups, step: number): StepGroup | undefined {
  let found: StepGroup | undefined;
  for (const g of run.steps) if (g.step <= step) found = g;
  return found ?? run.steps[0];
}

/** The grid's settings as one line for a tooltip and for "Copy Settings". */
export function describeSettings(e: SampleEntry): string {
  const s = e.settings;
  if (!s) return `${path.basename(e.file)} (step ${e.step})`;
  const parts = [`step ${e.step}`];
  if (s.n !== undefined) parts.push(`${s.n} images`);
  if (s.steps !== undefined) parts.push(`${s.steps} ${s.method ?? ''} steps`.replace(/ +steps/, ' steps'));
  if (s.cfg !== undefined) parts.push(`CFG ${s.cfg}${s.interval ? ` in t ∈ (${s.interval[0]}, ${s.interval[1]})` : ''}`);
  if (s.weights) parts.push(`${s.weights} weights`);
  if (s.seed !== undefined) parts.push(`seed ${s.seed}`);
  if (s.checkpoint) parts.push(s.checkpoint);
  return parts.join(', ');
}
