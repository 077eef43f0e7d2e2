// `jit eval`: sample quality of a checkpoint, or of every checkpoint of a run (quality over training steps and
// seconds), as the Fréchet distance, class accuracy, precision/recall and the patch-seam score, each beside the same
// number for real images (the floor).
import { Command, InvalidArgumentError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { BackendChoice, initBackend } from '../runtime/tfjsBackend';
import { RUNTIME_SETTINGS, RuntimeSetting } from '../runtime/networkRuntime';
import { listCheckpoints, runPaths } from '../io/runs';
import { EVAL_SETTINGS, QualityEvaluator, QualityMetrics, evaluatorForCheckpoint } from '../quality/evaluate';
import { GRID_SCORE_N, saveGridScores, scoreGrid } from '../quality/gridScores';
import type { GridScores } from '../wire/qualityScores';
import type { DataSpec } from '../io/runConfig';
import type { WeightsChoice } from '../wire/samplingNames';

type Parser<T> = (name: string) => (v: string) => T;

interface EvalOptions {
  checkpoint?: string;
  run?: string;
  grid?: boolean;
  sweep?: boolean;
  cfgScales?: number[];
  n: number;
  steps: number;
  method: 'heun' | 'euler';
  cfg: number;
  interval?: [number, number];
  ema: 'ema1' | 'ema2' | 'none';
  seed: number;
  nGiven: boolean;
  stepsGiven: boolean;
  data?: string;
  features?: string;
  json?: boolean;
  engine: RuntimeSetting;
  onnxThreads?: number;
  backend?: BackendChoice;
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const fixed = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));

function printOne(m: QualityMetrics): void {
  console.log(`step ${m.step ?? '?'}${m.seconds !== undefined ? ` (${m.seconds.toFixed(0)} s of training)` : ''}, ${m.weights} weights, ${m.steps} steps, cfg ${m.cfg}, n ${m.n}, ${m.evalSeconds.toFixed(1)} s`);
  const rows: [string, string, string][] = [
    ['Fréchet distance', fixed(m.fd), fixed(m.fdFloor)],
    ['class accuracy', pct(m.classAccuracy), pct(m.realAccuracy)],
    ['precision', fixed(m.precision), fixed(m.realPrecision)],
    ['recall', fixed(m.recall), fixed(m.realRecall)],
    ['patch-seam score', fixed(m.seam), fixed(m.realSeam)],
  ];
  console.log(`  ${'metric'.padEnd(18)} ${'samples'.padStart(9)} ${'real (floor)'.padStart(13)}`);
  for (const [name, a, b] of rows) console.log(`  ${name.padEnd(18)} ${a.padStart(9)} ${b.padStart(13)}`);
}

function printTable(all: QualityMetrics[]): void {
  console.log(`${'step'.padStart(7)} ${'train s'.padStart(8)} ${'FD'.padStart(9)} ${'(floor)'.padStart(8)} ${'accuracy'.padStart(9)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'seam'.padStart(6)}`);
  for (const m of all) {
    console.log(`${String(m.step ?? '?').padStart(7)} ${(m.seconds !== undefined ? m.seconds.toFixed(0) : '-').padStart(8)} ${fixed(m.fd).padStart(9)} ${fixed(m.fdFloor).padStart(8)} ${pct(m.classAccuracy).padStart(9)} ${fixed(m.precision).padStart(9)} ${fixed(m.recall).padStart(7)} ${fixed(m.seam, 2).padStart(6)}`);
  }
}

function printGrid(g: GridScores): void {
  console.log(`CFG x EMA grid of step ${g.step ?? '?'}: ${g.n} samples per cell, ${g.steps} Heun steps, seed ${g.seed}; floor FD ${fixed(g.real.fdFloor)}, real accuracy ${pct(g.real.realAccuracy)} (${g.seconds.toFixed(0)} s)`);
  console.log(`  ${'weights'.padEnd(8)} ${'cfg'.padStart(5)} ${'interval'.padStart(10)} ${'FD'.padStart(9)} ${'accuracy'.padStart(9)} ${'precision'.padStart(9)} ${'recall'.padStart(7)} ${'seam'.padStart(6)}`);
  g.cells.forEach((c, i) => console.log(`${i === g.best ? '*' : ' '} ${c.weights.padEnd(8)} ${String(c.cfgScale).padStart(5)} ${`${c.intervalMin}-${c.intervalMax}`.padStart(10)} ${fixed(c.fd).padStart(9)} ${pct(c.classAccuracy).padStart(9)} ${fixed(c.precision).padStart(9)} ${fixed(c.recall).padStart(7)} ${fixed(c.seam, 2).padStart(6)}`));
  const b = g.cells[g.best];
  console.log(`best (lowest FD): ${b.weights}, CFG ${b.cfgScale}, interval ${b.intervalMin}-${b.intervalMax}`);
}

async function gridCmd(o: EvalOptions): Promise<void> {
  if (!o.checkpoint || o.run) throw new Error('--grid scores the CFG x EMA grid of one checkpoint: pass --checkpoint <file> (not --run).');
  await initBackend(o.backend);
  const tty = Boolean(process.stderr.isTTY);
  const g = await scoreGrid(path.resolve(o.checkpoint), {
    n: o.nGiven ? o.n : o.sweep ? GRID_SCORE_N.sweep : GRID_SCORE_N.quick, steps: o.stepsGiven ? o.steps : undefined, seed: o.seed, cfgScales: o.cfgScales,
    data: dataSpec(o.data), featuresDir: o.features ? path.resolve(o.features) : undefined, engine: o.engine, onnx: { threads: o.onnxThreads },
    onLog: (message) => console.error(message),
  }, (done, total) => tty && process.stderr.write(`\rscoring the grid: ${done}/${total} cells${done === total ? '\n' : ''}`));
  saveGridScores(g);
  if (o.json) console.log(JSON.stringify(g, null, 2));
  else printGrid(g);
}

function dataSpec(data: string | undefined): DataSpec | undefined {
  return data === undefined ? undefined : data === 'builtin' ? { kind: 'builtin' } : { kind: 'folder', dir: path.resolve(data), hflip: false };
}

async function evalCmd(o: EvalOptions): Promise<void> {
  if (o.grid) return gridCmd(o);
  if (Boolean(o.checkpoint) === Boolean(o.run)) throw new Error('Pass either --checkpoint <file> or --run <run folder>.');
  let files: string[];
  if (o.run) {
    const dir = path.resolve(o.run);
    if (!fs.existsSync(runPaths(dir).runFile)) throw new Error(`${dir} is not a run folder (it has no run.json); pass a folder under .jit/runs.`);
    files = listCheckpoints(dir).map((c) => c.file);
    if (!files.length) throw new Error(`${dir} has no checkpoints yet; train it further or pass --checkpoint.`);
  } else files = [path.resolve(o.checkpoint!)];
  await initBackend(o.backend);
  const [intervalMin, intervalMax] = o.interval ?? [EVAL_SETTINGS.intervalMin, EVAL_SETTINGS.intervalMax];
  const settings = { steps: o.steps, method: o.method, cfgScale: o.cfg, intervalMin, intervalMax, seed: o.seed };
  const weights: WeightsChoice = o.ema === 'none' ? 'online' : o.ema;
  const data = dataSpec(o.data);
  const tty = Boolean(process.stderr.isTTY);
  const evaluator: QualityEvaluator = await evaluatorForCheckpoint(files[0], o.n, {
    data, featuresDir: o.features ? path.resolve(o.features) : undefined,
    onLog: (message) => console.error(message),
    onProgress: (step, steps) => tty && process.stderr.write(`\rfeature network: step ${step}/${steps}${step === steps ? '\n' : ''}`),
  });
  try {
    const r = evaluator.net.record;
    if (!o.json) console.log(`feature network: ${pct(r.heldOutAccuracy)} held-out accuracy on ${r.heldOutImages} real images (${r.task === 'rotation' ? 'which of 4 rotations' : `${r.classes} classes`}; ${r.key})`);
    if (evaluator.reference.n < o.n) console.error(`note: the data set has ${evaluator.dataset.size} images, so ${evaluator.reference.n} samples are compared with ${evaluator.reference.n} real images (two disjoint real sets are needed).`);
    const all: QualityMetrics[] = [];
    for (const file of files) {
      const m = await evaluator.evaluateCheckpoint(file, weights, settings, {
        engine: o.engine, onnx: { threads: o.onnxThreads },
        onProgress: (done, total) => tty && process.stderr.write(`\r${path.basename(file)}: ${done}/${total} samples${done === total ? '\n' : ''}`),
      });
      const record = { checkpoint: file, featureNet: r.key, featureNetAccuracy: r.heldOutAccuracy, ...m };
      all.push(record);
      if (!o.json && !o.run) printOne(m);
    }
    if (o.json) console.log(JSON.stringify(o.run ? all : all[0], null, 2));
    else if (o.run) printTable(all);
  } finally {
    evaluator.dispose();
  }
}

export function addEvalCommand(program: Command, parse: { int: Parser<number>; num: Parser<number>; interval: (v: string) => [number, number]; backendOption: () => Option }): void {
  program.command('eval').description('sample quality of a checkpoint or of every checkpoint of a run: Fréchet distance, class accuracy, precision/recall, patch-seam score, each with its floor')
    .option('--checkpoint <file>', 'a .safetensors checkpoint')
    .option('--run <folder>', 'a run folder: evaluate every checkpoint in it (quality over training)')
    .option('--grid', `score every cell of the checkpoint's CFG x EMA grid (${GRID_SCORE_N.quick} samples per cell, 20 steps) and mark the best`)
    .option('--sweep', `with --grid: ${GRID_SCORE_N.sweep} samples per cell, for a ranking to rely on`)
    .option('--cfg-scales <list>', 'with --grid: the guidance scales (default 1,1.5,2,3,4)', (v: string) => {
      const list = v.split(',').map(Number);
      if (!list.length || list.some((x) => !Number.isFinite(x) || x < 0)) throw new InvalidArgumentError('cfg-scales must be numbers of 0 or more, e.g. 1,1.5,2,3,4.');
      return list;
    })
    .option('--n <n>', 'samples (and real images on each side)', parse.int('n'), EVAL_SETTINGS.n)
    .option('--steps <n>', 'ODE steps', parse.int('steps'), EVAL_SETTINGS.steps)
    .addOption(new Option('--method <m>', 'ODE solver').choices(['heun', 'euler']).default(EVAL_SETTINGS.method))
    .option('--cfg <scale>', 'classifier-free guidance scale', parse.num('cfg'), EVAL_SETTINGS.cfgScale)
    .option('--interval <min,max>', 'guidance interval of t', parse.interval)
    .addOption(new Option('--ema <copy>', 'weights: EMA copy or none (online)').choices(['ema1', 'ema2', 'none']).default('ema1'))
    .option('--seed <n>', 'noise seed', parse.num('seed'), EVAL_SETTINGS.seed)
    .option('--data <builtin|folder>', 'the data set to compare with (default: the one the run trained on)')
    .option('--features <dir>', 'feature network cache (default: .features in the runs folder)')
    .option('--json', 'JSON output: fd, fdFloor, classAccuracy, precision, recall, seam, n, step, ... (an array with --run)')
    .addOption(new Option('--engine <name>', 'network engine: ONNX Runtime when it loads (auto), onnx, or tfjs').choices([...RUNTIME_SETTINGS]).default('auto').env('JIT_ENGINE'))
    .option('--onnx-threads <n>', 'ONNX Runtime threads (default $JIT_ONNX_THREADS or the CPU cores)', parse.int('onnx-threads'))
    .addOption(parse.backendOption())
    .action((o, cmd: Command) => evalCmd({ ...o, nGiven: cmd.getOptionValueSource('n') === 'cli', stepsGiven: cmd.getOptionValueSource('steps') === 'cli' }));
}
