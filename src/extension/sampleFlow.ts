// The settings of "JiT: Sample Images": a preset that Enter accepts, or every setting in turn (weights, classes, count,
// steps, Euler or Heun, CFG scale and interval, seed), each with a default; and "sample again" from the settings
// a grid was made with (its samples/index.jsonl line), which needs no questions at all.
import { randomInt } from 'crypto';
import * as path from 'path';
import type { SampleRequest } from '../tasks/sampleCheckpoint';
import { runPaths } from '../io/runs';
import { classNames } from './runInfo';
import type { QuickFlow } from './quickFlow';
import type { SampleIndexLine } from './sampleGroups';

/** Everything of a sample request but the checkpoint. */
export type SampleSettings = Omit<SampleRequest, 'checkpoint' | 'out' | 'engine' | 'onnx'>;

const WEIGHTS = [
  { label: 'ema1', description: 'default', detail: 'The first EMA copy of the weights (the slower average)' },
  { label: 'ema2', detail: 'The second EMA copy (the faster average)' },
  { label: 'online', detail: 'The weights the optimizer trains, without averaging' },
] as const;

function wholeNumber(min: number, max: number) {
  return (v: string) => (/^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? undefined : `Enter a whole number from ${min} to ${max}.`);
}

async function input(flow: QuickFlow, title: string, prompt: string, value: string, validate: (v: string) => string | undefined): Promise<string | undefined> {
  const v = await flow.input({ title, prompt, value, validateInput: validate });
  return v === undefined ? undefined : v.trim();
}

/** Asks each setting in turn, starting from `base`; undefined when the user pressed Escape. */
async function pickEach(flow: QuickFlow, runDir: string, title: string, base: SampleSettings): Promise<SampleSettings | undefined> {
  const weights = await flow.pick(WEIGHTS.map((w) => ({ ...w, picked: w.label === base.weights })), { title: `${title} — weights`, placeHolder: 'Press Enter for ema1' });
  if (!weights) return undefined;
  const names = classNames(runDir);
  let classes: number[] | undefined;
  if (names.length) {
    const items = [{ label: 'All classes', description: 'default', detail: 'Images cycle through the classes in order', classes: undefined as number[] | undefined },
      ...names.map((name, i) => ({ label: name, description: `class ${i}`, detail: undefined, classes: [i] })),
      { label: 'Unconditional', description: `class ${names.length}`, detail: 'The null class the model learned for guidance', classes: [names.length] }];
    const pick = await flow.pick(items, { title: `${title} — classes`, placeHolder: 'Press Enter for all classes' });
    if (!pick) return undefined;
    classes = pick.classes;
  }
  const n = await input(flow, `${title} — images`, 'How many images', String(base.n), wholeNumber(1, 256));
  if (n === undefined) return undefined;
  const method = await flow.pick([
    { label: 'Heun', description: base.method === 'heun' ? 'default' : undefined, detail: 'Second order: two network evaluations per step (one on the last step)', method: 'heun' as const },
    { label: 'Euler', description: base.method === 'euler' ? 'default' : undefined, detail: 'First order: one network evaluation per step', method: 'euler' as const },
  ].sort((a) => (a.method === base.method ? -1 : 1)), { title: `${title} — sampler` });
  if (!method) return undefined;
  const steps = await input(flow, `${title} — steps`, 'Sampling steps from noise (t = 0) to the image (t = 1)', String(base.steps), wholeNumber(1, 1000));
  if (steps === undefined) return undefined;
  const cfg = await input(flow, `${title} — CFG scale`, 'Classifier-free guidance scale (1 = no guidance)', String(base.cfgScale),
    (v) => (Number.isFinite(Number(v)) && v.trim() !== '' && Number(v) >= 0 && Number(v) <= 20 ? undefined : 'Enter a number from 0 to 20.'));
  if (cfg === undefined) return undefined;
  let interval: [number, number] = [base.intervalMin, base.intervalMax];
  if (Number(cfg) !== 1) {
    const parse = (v: string) => v.split(/[\s,]+/).filter(Boolean).map(Number);
    const text = await input(flow, `${title} — CFG interval`, 'Guidance is applied for t in this interval: two numbers from 0 to 1', `${base.intervalMin}, ${base.intervalMax}`, (v) => {
      const p = parse(v);
      return p.length === 2 && p.every((x) => x >= 0 && x <= 1) && p[0] <= p[1] ? undefined : 'Enter two numbers from 0 to 1, the smaller first.';
    });
    if (text === undefined) return undefined;
    interval = parse(text) as [number, number];
  }
  const seed = await input(flow, `${title} — seed`, 'Seed of the noise (the same seed and settings give the same images)', String(base.seed), wholeNumber(0, 2 ** 31 - 1));
  if (seed === undefined) return undefined;
  return {
    n: Number(n), steps: Number(steps), method: method.method, cfgScale: Number(cfg), intervalMin: interval[0], intervalMax: interval[1],
    seed: Number(seed), weights: weights.label, classes,
  };
}

/** The settings of a "JiT: Sample Images": a preset (Enter takes the first) or each setting in turn. */
export async function pickSampleSettings(flow: QuickFlow, runDir: string, checkpoint: string): Promise<SampleSettings | undefined> {
  const title = `JiT: Sample Images from ${path.basename(runDir)} / ${path.basename(checkpoint)}`;
  const seed = randomInt(1_000_000);
  const base: SampleSettings = { n: 16, steps: 50, method: 'heun', cfgScale: 1, intervalMin: 0.1, intervalMax: 1, seed, weights: 'ema1' };
  const how = await flow.pick([
    { label: 'Heun, 50 steps', description: 'default', detail: `16 images with the EMA weights, no guidance, seed ${seed}`, settings: base },
    { label: 'Euler, 20 steps', description: 'faster, rougher', detail: `16 images with the EMA weights, no guidance, seed ${seed}`, settings: { ...base, steps: 20, method: 'euler' as const } },
    { label: 'Heun, 50 steps, guidance 2.0', description: 'classifier-free guidance in t ∈ [0.1, 1]', detail: '16 images; twice the network evaluations', settings: { ...base, cfgScale: 2 } },
    { label: 'Choose each setting…', description: 'weights, classes, count, steps, sampler, guidance, seed', detail: 'Every question has a default: Enter accepts it', settings: undefined },
  ], { title, placeHolder: 'Press Enter for the default' });
  if (!how) return undefined;
  return how.settings ?? pickEach(flow, runDir, title, base);
}

/** The request that repeats a grid: same checkpoint, seed, classes and settings; undefined when the index lacks any. */
export function repeatRequest(runDir: string, s: SampleIndexLine | undefined): SampleRequest | undefined {
  if (!s?.checkpoint || s.seed === undefined || !s.n || !s.steps || (s.method !== 'heun' && s.method !== 'euler') || s.cfg === undefined) return undefined;
  const weights = s.weights === 'ema2' || s.weights === 'online' ? s.weights : 'ema1';
  return {
    checkpoint: path.join(runPaths(runDir).checkpoints, path.basename(s.checkpoint)),
    n: s.n, steps: s.steps, method: s.method, cfgScale: s.cfg, intervalMin: s.interval?.[0] ?? 0.1, intervalMax: s.interval?.[1] ?? 1,
    seed: s.seed, weights,
    // Labels cycle through the classes, so the first n labels as the class list give the same labels again.
    classes: s.labels?.length ? s.labels.slice(0, s.n) : undefined,
  };
}
