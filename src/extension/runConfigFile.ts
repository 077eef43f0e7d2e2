// Run configuration files (*.jitrun.json) in the workspace: the RunOverrides fields as JSON, checked here with
// one-sentence errors (media/jitrun.schema.json gives the editor the same rules). No vscode import.
import * as path from 'path';
import { presetNames } from '../jit/config';
import type { RunOverrides } from '../io/runConfig';

export const RUN_CONFIG_GLOB = '**/*.jitrun.json';

export interface RunConfigFile {
  name?: string;
  overrides: RunOverrides;
}

type Check = (v: unknown) => string | undefined; // a problem, or undefined when fine

const int = (min: number): Check => (v) => (Number.isInteger(v) && (v as number) >= min ? undefined : `a whole number of at least ${min}`);
const positive: Check = (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'a positive number');
const nonNegative: Check = (v) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? undefined : 'a number of at least 0');
const decay: Check = (v) => (typeof v === 'number' && v >= 0 && v < 1 ? undefined : 'a number in [0, 1)');
const oneOf = (...values: string[]): Check => (v) => (values.includes(v as string) ? undefined : `one of ${values.map((x) => `"${x}"`).join(', ')}`);
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const str: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'a non-empty string');

const FIELDS: Record<string, Check> = {
  $schema: str, name: str, preset: (v) => oneOf(...presetNames())(v),
  steps: int(1), batch: int(1), lr: positive, blr: positive, schedule: oneOf('constant', 'cosine'), warmupSteps: int(0),
  weightDecay: nonNegative, emaDecay1: decay, emaDecay2: decay, seed: int(0), sampleEvery: int(1), checkpointEvery: int(1),
  keepCheckpoints: int(1), target: oneOf('x', 'eps', 'v'), freezePatchEmbed: bool,
};
const PREVIEW: Record<string, Check> = { n: int(1), steps: int(1), method: oneOf('heun', 'euler'), cfgScale: positive, weights: oneOf('ema1', 'ema2', 'online') };

/** Parses and checks a run configuration; throws one sentence naming the file, the field and what it must be. */
export function parseRunConfigFile(text: string, file: string): RunConfigFile {
  const where = path.basename(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${e instanceof Error ? e.message : String(e)}): fix it and run JiT: Start Training again.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where} must hold one JSON object with run settings such as "preset" and "steps".`);
  const o = json as Record<string, unknown>;
  const bad = (field: string, must: string) => new Error(`In ${where}, "${field}" must be ${must}.`);
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'data' || k === 'preview') continue;
    const check = FIELDS[k];
    if (!check) throw new Error(`${where} has an unknown field "${k}"; allowed are ${[...Object.keys(FIELDS).filter((f) => f !== '$schema'), 'data', 'preview'].join(', ')}.`);
    const problem = check(v);
    if (problem) throw bad(k, problem);
    if (k !== '$schema' && k !== 'name') overrides[k] = v;
  }
  if (o.data !== undefined) {
    const d = o.data as Record<string, unknown>;
    if (typeof d !== 'object' || d === null) throw bad('data', '{ "kind": "builtin" } or { "kind": "folder", "dir": "..." }');
    if (d.kind === 'builtin') overrides.data = { kind: 'builtin' };
    else if (d.kind === 'folder') {
      if (str(d.dir)) throw bad('data.dir', 'the path of an image folder (one subfolder per class), relative to the file or absolute');
      if (d.hflip !== undefined && bool(d.hflip)) throw bad('data.hflip', 'true or false');
      overrides.data = { kind: 'folder', dir: path.resolve(path.dirname(file), d.dir as string), hflip: d.hflip === true };
    } else throw bad('data.kind', '"builtin" or "folder"');
  }
  if (o.preview !== undefined) {
    const p = o.preview as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) throw bad('preview', 'an object');
    for (const [k, v] of Object.entries(p)) {
      const check = PREVIEW[k];
      if (!check) throw new Error(`${where} has an unknown field "preview.${k}"; allowed are ${Object.keys(PREVIEW).join(', ')}.`);
      const problem = check(v);
      if (problem) throw bad(`preview.${k}`, problem);
    }
    overrides.preview = p;
  }
  return { name: o.name as string | undefined, overrides: overrides as RunOverrides };
}
