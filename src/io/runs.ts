// The runs folder: .jit/runs/<yyyymmdd-hhmmss>-<name>/ with run.json, metrics.jsonl (append-only; a reader skips
// a torn last line), checkpoints/ and samples/ (PNG grids + index.jsonl).
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from './atomic';
import type { RunFile } from './runConfig';

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const SAMPLES_INDEX = 'index.jsonl';

/** One line of samples/index.jsonl (written by training and by sampling). */
export interface SampleIndexLine {
  step?: number;
  file: string;
  checkpoint?: string;
  seed?: number;
  n?: number;
  steps?: number;
  method?: string;
  cfg?: number;
  interval?: [number, number];
  weights?: string;
  /** The network runtime that sampled a preview grid during training. */
  engine?: string;
  labels?: number[];
  time?: string;
}

export interface RunPaths {
  dir: string;
  runFile: string;
  metrics: string;
  checkpoints: string;
  samples: string;
  samplesIndex: string;
}

export function runPaths(dir: string): RunPaths {
  return {
    dir,
    runFile: path.join(dir, RUN_FILE),
    metrics: path.join(dir, METRICS_FILE),
    checkpoints: path.join(dir, 'checkpoints'),
    samples: path.join(dir, 'samples'),
    samplesIndex: path.join(dir, 'samples', SAMPLES_INDEX),
  };
}

/** Default runs root for a workspace folder. */
export function defaultRunsRoot(workspace: string): string {
  return path.join(workspace, '.jit', 'runs');
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Creates a new run folder with a unique name. */
export function createRunDir(root: string, name: string): RunPaths {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  fs.mkdirSync(root, { recursive: true });
  const base = `${timestamp()}-${safe}`;
  let dir = path.join(root, base);
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(root, `${base}-${i}`);
  const p = runPaths(dir);
  fs.mkdirSync(p.checkpoints, { recursive: true });
  fs.mkdirSync(p.samples, { recursive: true });
  return p;
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Appends one JSON object as a line (the line is written with a single write call). */
export function appendJsonLine<T = unknown>(file: string, value: T): void {
  fs.appendFileSync(file, JSON.stringify(value) + '\n');
}

/** Reads a JSON-lines file; an unparsable line (a torn write at the end) is skipped, not fatal. */
export function readJsonLines<T = unknown>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const out: T[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a partially written last line after a crash
    }
  }
  return out;
}

export interface RunSummary {
  dir: string;
  name: string;
  /** run.json, as far as it parses (any field may be missing). */
  run: RunFile | undefined;
  checkpoints: { file: string; step: number }[];
  samples: { file: string; step: number }[];
}

export const CHECKPOINT_RE = /^step-(\d+)\.safetensors$/;
const SAMPLE_RE = /^step-(\d+)\.png$/;

function stepFiles(dir: string, re: RegExp): { file: string; step: number }[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .map((x) => ({ file: path.join(dir, x.f), step: Number(x.m![1]) }))
    .sort((a, b) => a.step - b.step);
}

export function listCheckpoints(runDir: string): { file: string; step: number }[] {
  return stepFiles(runPaths(runDir).checkpoints, CHECKPOINT_RE);
}

export function listSampleGrids(runDir: string): { file: string; step: number }[] {
  return stepFiles(runPaths(runDir).samples, SAMPLE_RE);
}

/** Every run folder under a root (folders holding run.json), newest first. */
export function discoverRuns(root: string): RunSummary[] {
  if (!fs.existsSync(root)) return [];
  const runs: RunSummary[] = [];
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    const p = runPaths(dir);
    if (!fs.existsSync(p.runFile)) continue;
    let run: RunFile | undefined;
    try {
      run = JSON.parse(fs.readFileSync(p.runFile, 'utf8'));
    } catch {
      run = undefined; // a broken run.json still lists the run (its files stay reachable)
    }
    runs.push({ dir, name, run, checkpoints: listCheckpoints(dir), samples: listSampleGrids(dir) });
  }
  return runs.sort((a, b) => b.name.localeCompare(a.name));
}
