// The `jit` command: headless training, sampling, backend info and golden-vector verification, on the same
// engine code the extension uses.
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import * as path from 'path';
import { initBackend, BackendChoice, BackendInfo, backendInfo } from '../runtime/tfjsBackend';
import { GoldenResult, tfjsGoldenEngine, verifyGolden } from '../tasks/verifyGolden';
import { FULL_BENCH, SMOKE_BENCH, runBench } from '../tasks/bench';
import * as fs from 'fs';
import { presetNames, PRESETS, DEFAULT_PRESET } from '../jit/config';
import { countParams } from '../jit/params';
import { SAMPLING_ENGINES, SamplingEngine, sampleFromCheckpoint, sampleToFolder } from '../tasks/sampleCheckpoint';
import { onnxGoldenEngine } from '../onnx/golden';
import { onnxRuntimeStatus } from '../onnx/runtime';
import { probeSession, resolveProviders, resolveThreads } from '../onnx/session';
import { runTraining, TrainEvent } from '../run/loop';
import { ENGINE_SETTINGS, EngineSetting, preferredEngine } from '../train/engineChoice';
import { RunOverrides } from '../io/runConfig';
import { addCheckpointCommands } from './checkpoints';
import { addScalarsCommand } from './scalars';
import { addEvalCommand } from './evaluate';
import { toyCommand } from '../toy/cli';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive whole number.`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number.`);
  return n;
};
const interval = (v: string): [number, number] => {
  const parts = v.split(',').map(Number);
  if (parts.length !== 2 || parts.some((x) => !Number.isFinite(x)) || parts[0] >= parts[1]) throw new InvalidArgumentError('interval must be two numbers "min,max" with min < max, e.g. 0.1,1.0.');
  return [parts[0], parts[1]];
};
const backendOption = () => new Option('--backend <name>', 'TensorFlow.js backend').choices(['auto', 'tensorflow', 'wasm', 'cpu']).env('JIT_BACKEND');

/** TF.js runs on a GPU (tfjs-node-gpu with CUDA): then `--engine auto` trains on it. */
function onGpu(b: BackendInfo): boolean {
  return b.devices.some((d) => d.startsWith('GPU'));
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

async function train(o: Record<string, unknown>): Promise<void> {
  const backend = await initBackend(o.backend as BackendChoice);
  const data = o.data === 'builtin' ? { kind: 'builtin' as const } : { kind: 'folder' as const, dir: path.resolve(String(o.data)), hflip: Boolean(o.hflip) };
  const overrides: RunOverrides = {
    preset: o.preset as string, data, steps: o.steps as number, batch: o.batch as number, lr: o.lr as number | undefined,
    blr: o.blr as number | undefined, seed: o.seed as number, sampleEvery: o.sampleEvery as number, checkpointEvery: o.checkpointEvery as number, keepCheckpoints: o.keepCheckpoints as number,
    target: o.target as RunOverrides['target'], freezePatchEmbed: Boolean(o.freezePatchEmbed), schedule: o.schedule as RunOverrides['schedule'],
    preview: { steps: o.previewSteps as number, ...(o.previewN ? { n: o.previewN as number } : {}) },
    quality: { every: o.evalEvery as number | 'auto' | undefined, n: o.evalN as number | undefined, steps: o.evalSteps as number | undefined },
  };
  const controller = new AbortController();
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nStopping after this step and saving a checkpoint (Ctrl+C again to quit now)...\n');
    controller.abort();
  });
  const tty = Boolean(process.stderr.isTTY);
  const bar = new SingleBar({ format: 'train |{bar}| {value}/{total} loss {loss} | {ips} img/s | ETA {eta_h}', hideCursor: true, clearOnComplete: false });
  let smooth = NaN;
  let lastLine = 0;
  const onEvent = (e: TrainEvent) => {
    switch (e.type) {
      case 'started':
        console.log(`engine: ${e.engine}`);
        console.log(`run: ${e.runDir}`);
        console.log(`model: ${e.config.preset}, ${(countParams(e.config.model) / 1e6).toFixed(2)} M parameters; data: ${e.dataset}; batch ${e.config.batch}, lr ${e.config.lr.toExponential(2)}`);
        if (tty) bar.start(e.config.steps, e.step, { loss: '-', ips: '-', eta_h: '?' });
        break;
      case 'step': {
        const m = e.metrics;
        smooth = Number.isNaN(smooth) ? m.loss : 0.9 * smooth + 0.1 * m.loss;
        const eta = ((e.totalSteps - m.step) * (m.seconds / Math.max(1, m.step))) ;
        if (tty) bar.update(m.step, { loss: smooth.toFixed(4), ips: m.imagesPerSec.toFixed(1), eta_h: formatEta(eta) });
        else if (m.step === 1 || m.step === e.totalSteps || Date.now() - lastLine > 10_000) {
          lastLine = Date.now();
          console.log(`step ${m.step}/${e.totalSteps} loss ${m.loss.toFixed(4)} (smoothed ${smooth.toFixed(4)}) ${m.imagesPerSec.toFixed(1)} img/s ETA ${formatEta(eta)}`);
        }
        break;
      }
      case 'samples':
      case 'checkpoint':
        if (!tty) console.log(`${e.type}: ${e.file}`);
        break;
      case 'quality': {
        const q = e.metrics;
        const line = `quality at step ${q.step}: FD ${q.fd.toFixed(2)} (floor ${q.fdFloor.toFixed(2)})${q.classAccuracy === null ? '' : `, class accuracy ${(100 * q.classAccuracy).toFixed(1)}%`}, ` +
          `precision ${q.precision.toFixed(2)}, recall ${q.recall.toFixed(2)}${q.seam === null ? '' : `, seam ${q.seam.toFixed(2)}`} (${q.n} samples, ${q.evalSeconds.toFixed(0)} s)`;
        if (tty) bar.stop();
        console.log(line);
        if (tty) bar.start(bar.getTotal(), q.step, { loss: smooth.toFixed(4), ips: '-', eta_h: '?' });
        break;
      }
      case 'log':
        if (tty) bar.stop();
        console.error(`${e.level}: ${e.message}`);
        break;
      case 'finished':
        if (tty) bar.stop();
        if (e.reason === 'diverged') console.error(e.message);
        else console.log(`${e.reason === 'stopped' ? 'stopped' : 'finished'} at step ${e.step}; checkpoint: ${e.checkpoint}`);
        break;
    }
  };
  const r = await runTraining({
    overrides, runsRoot: path.resolve(String(o.out)), runName: o.name as string | undefined, resumeFrom: o.resume ? path.resolve(String(o.resume)) : undefined,
    untilStep: o.resume && o.stepsGiven ? (o.steps as number) : undefined, backend: backend.backend,
    engine: o.engine as EngineSetting, tfjsOnGpu: onGpu(backend), onnx: { threads: o.onnxThreads as number | undefined },
    workers: o.workers as number | 'auto',
  }, { signal: controller.signal, onEvent });
  if (r.reason === 'diverged') process.exitCode = 3;
}

async function info(o: { json?: boolean; backend?: BackendChoice }): Promise<void> {
  const b = await initBackend(o.backend);
  const onnx = onnxRuntimeStatus();
  // What `jit train --engine auto` trains on here (it falls back to TF.js when ONNX Runtime does not load).
  const training = onnx.loads ? preferredEngine({ setting: 'auto', tfjsOnGpu: onGpu(b) }) : 'tfjs';
  if (o.json) {
    console.log(JSON.stringify({ ...b, onnx: { ...onnx, session: onnx.loads ? await probeSession() : undefined }, trainingEngine: training, presets: presetNames() }, null, 2));
    return;
  }
  console.log(`backend:  ${b.backend} — ${b.package}`);
  console.log(`devices:  ${b.devices.join(', ')}`);
  console.log(`tfjs:     ${b.tfjsVersion}; node ${process.version}`);
  for (const n of b.notes) console.log(`note:     ${n}`);
  if (onnx.loads) {
    console.log(`onnx:     ONNX Runtime ${onnx.version} loads; training and sampling use it by default`);
    for (const p of onnx.providers) console.log(`          execution provider ${p.name}: ${p.note}`);
    const probe = await probeSession();
    console.log(`          in use: ${probe.provider}${probe.provider === 'cpu' ? `, ${probe.threads} threads` : ''} (asked for ${resolveProviders().join(', ')})`);
    for (const n of probe.notes) console.log(`note:     ${n}`);
  } else console.log(`onnx:     ${onnx.message}; sampling uses TensorFlow.js`);
  console.log(`training: ${training === 'onnx' ? 'ONNX Runtime (a gradient graph)' : `TensorFlow.js, ${b.backend} backend`} by default (--engine auto)`);
  console.log('presets:');
  for (const p of Object.values(PRESETS)) console.log(`  ${p.name.padEnd(10)} ${(countParams({ ...p.model, numClasses: 1000, freezePatchEmbed: false }) / 1e6).toFixed(1).padStart(6)} M (1000 classes)  ${p.description}`);
}

/** The execution providers and threads ONNX Runtime sessions are asked for (JIT_ONNX_PROVIDERS, JIT_ONNX_THREADS). */
function onnxSettings(threads?: number): string {
  return `execution providers ${resolveProviders().join(', ')}, ${resolveThreads({ threads })} threads`;
}

async function golden(file: string, o: { json?: boolean; backend?: BackendChoice; engine?: 'tfjs' | 'onnx' }): Promise<void> {
  await initBackend(o.backend);
  const results: GoldenResult[] = await verifyGolden(path.resolve(file), o.engine === 'onnx' ? onnxGoldenEngine() : tfjsGoldenEngine);
  const pass = results.every((r) => r.pass);
  if (o.json) console.log(JSON.stringify({ pass, engine: o.engine ?? 'tfjs', results }, null, 2));
  else {
    console.log(o.engine === 'onnx' ? `engine: ONNX Runtime, ${onnxSettings()}` : `engine: TensorFlow.js, ${backendInfo()?.backend} backend`);
    for (const r of results) console.log(`${r.pass ? 'ok  ' : 'FAIL'} ${r.case.padEnd(58)} ${r.metric.padEnd(18)} ${r.error.toExponential(2)} (tolerance ${r.tolerance.toExponential(0)})`);
    console.log(`${results.filter((r) => r.pass).length} of ${results.length} cases within tolerance`);
  }
  if (!pass) process.exitCode = 1;
}

async function sampleCmd(o: Record<string, unknown>): Promise<void> {
  await initBackend(o.backend as BackendChoice);
  const [intervalMin, intervalMax] = (o.interval as [number, number]) ?? [0.1, 1.0];
  if (o.outDir) {
    if (o.out || o.classes) throw new Error('--out-dir writes one PNG per image with class-balanced labels; leave out --out and --classes.');
    const r = await sampleToFolder({
      checkpoint: path.resolve(String(o.checkpoint)), outDir: String(o.outDir), n: o.n as number, steps: o.steps as number, method: o.method as 'heun' | 'euler',
      cfgScale: o.cfg as number, intervalMin, intervalMax, seed: o.seed as number, weights: o.ema === 'none' ? 'online' : (o.ema as 'ema1' | 'ema2'),
      engine: o.engine as SamplingEngine, onnx: { threads: o.onnxThreads as number | undefined },
    }, (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\rsampling: ${done}/${total} images`);
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    for (const n of r.engine.notes) console.error(`note: ${n}`);
    console.log(`engine: ${r.engine.description}`);
    console.log(`wrote ${r.n} PNG files and samples.json to ${r.dir} (${r.seconds.toFixed(1)} s); e.g. fidelity --gpu 0 --fid --input1 ${r.dir} --input2 <real images>`);
    return;
  }
  const r = await sampleFromCheckpoint({
    checkpoint: path.resolve(String(o.checkpoint)), n: o.n as number, steps: o.steps as number, method: o.method as 'heun' | 'euler',
    cfgScale: o.cfg as number, intervalMin, intervalMax, seed: o.seed as number, weights: o.ema === 'none' ? 'online' : (o.ema as 'ema1' | 'ema2'),
    classes: o.classes ? String(o.classes).split(',').map(Number) : undefined, out: o.out ? path.resolve(String(o.out)) : undefined,
    engine: o.engine as SamplingEngine, onnx: { threads: o.onnxThreads as number | undefined },
  }, (done, total) => {
    if (process.stderr.isTTY) process.stderr.write(`\rsampling: ${done}/${total} network evaluations`);
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  for (const n of r.engine.notes) console.error(`note: ${n}`);
  console.log(`engine: ${r.engine.description}`);
  console.log(`wrote ${r.file} (${r.n} images, ${r.steps} ${r.method} steps, cfg ${r.cfgScale}, ${r.weights} weights, ${r.seconds.toFixed(1)} s)`);
}

async function bench(o: { smoke?: boolean; out?: string; backend?: BackendChoice }): Promise<void> {
  await initBackend(o.backend);
  const result = await runBench({ ...(o.smoke ? SMOKE_BENCH : FULL_BENCH), onProgress: (m) => process.stderr.write(`bench: ${m}\n`) });
  const json = JSON.stringify(result, null, 2);
  const out = path.resolve(o.out ?? (o.smoke ? 'bench-results/bench-smoke.json' : `bench-results/bench-${result.backend}.json`));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, json + '\n');
  console.log(json);
  process.stderr.write(`bench: wrote ${out}\n`);
}

export function buildProgram(): Command {
  const program = new Command('jit').description('Train and sample JiT pixel-space diffusion transformers').showHelpAfterError();
  program.command('train').description('train a JiT model (built-in shapes or an image folder) into a run folder')
    .addOption(new Option('--preset <name>', 'model preset').choices(presetNames()).default(DEFAULT_PRESET))
    .option('--data <builtin|folder>', 'built-in shapes, or a folder with one subfolder per class', 'builtin')
    .option('--steps <n>', 'training steps (with --resume: train until this step)', int('steps'))
    .option('--batch <n>', 'batch size (default: the preset\'s)', int('batch'))
    .option('--lr <x>', 'peak learning rate (default: blr x batch / 256)', num('lr'))
    .option('--blr <x>', 'base learning rate', num('blr'))
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule after warmup').choices(['constant', 'cosine']).default('constant'))
    .option('--seed <n>', 'random seed', num('seed'), 0)
    .option('--out <dir>', 'runs folder', '.jit/runs')
    .option('--name <name>', 'run name suffix')
    .option('--sample-every <n>', 'write a sample grid every n steps', int('sample-every'), 250)
    .option('--checkpoint-every <n>', 'write a checkpoint every n steps', int('checkpoint-every'), 500)
    .option('--keep-checkpoints <n>', 'checkpoints kept (older ones are deleted; keep more to evaluate quality over training)', int('keep-checkpoints'), 3)
    .option('--preview-steps <n>', 'Heun steps of the preview sample grids', int('preview-steps'), 20)
    .option('--preview-n <n>', 'images in each preview grid', int('preview-n'))
    .option('--eval-every <n|auto>', 'measure sample quality every n steps (0: never; auto: keeping it under 10% of the training time)', (v: string) => {
      if (v === 'auto') return v;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('eval-every must be auto or a whole number (0: never).');
      return n;
    })
    .option('--eval-n <n>', 'samples per quality measurement (default 256)', int('eval-n'))
    .option('--eval-steps <n>', 'Heun steps of those samples (default 20)', int('eval-steps'))
    .addOption(new Option('--target <kind>', 'prediction target (all trained with the v-loss)').choices(['x', 'eps', 'v']).default('x'))
    .option('--freeze-patch-embed', 'keep the bottleneck patch embedding at its initialisation')
    .option('--hflip', 'random horizontal flips (image folders)')
    .option('--resume <checkpoint>', 'continue a run from one of its checkpoints')
    .addOption(new Option('--engine <name>', 'training engine: ONNX Runtime unless TF.js runs on a GPU (auto), onnx, or tfjs').choices([...ENGINE_SETTINGS]).default('auto').env('JIT_ENGINE'))
    .option('--onnx-threads <n>', 'ONNX Runtime threads (default $JIT_ONNX_THREADS or the CPU cores)', int('onnx-threads'))
    .option('--workers <n|auto>', 'TF.js: extra threads for data-parallel training (auto: one per further core on wasm/cpu, up to 4 threads in all)', (v: string) => {
      if (v === 'auto') return v;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('workers must be auto or a whole number (0 trains in one thread).');
      return n;
    }, 'auto')
    .addOption(backendOption())
    .action(async (o) => train({ ...o, stepsGiven: o.steps !== undefined, steps: o.steps ?? (o.resume ? undefined : 2000) }));
  program.command('sample').description('sample a PNG grid from a checkpoint')
    .requiredOption('--checkpoint <file>', 'a .safetensors checkpoint')
    .option('--n <n>', 'number of images', int('n'), 16)
    .option('--steps <n>', 'ODE steps', int('steps'), 50)
    .addOption(new Option('--method <m>', 'ODE solver').choices(['heun', 'euler']).default('heun'))
    .option('--cfg <scale>', 'classifier-free guidance scale', num('cfg'), 1.0)
    .option('--interval <min,max>', 'guidance interval of t', interval)
    .option('--seed <n>', 'noise seed', num('seed'), 0)
    .addOption(new Option('--ema <copy>', 'weights: EMA copy or none (online)').choices(['ema1', 'ema2', 'none']).default('ema1'))
    .option('--classes <list>', 'comma-separated class labels (default: cycle through all)')
    .option('--out <file>', 'output PNG (default: the run\'s samples/ folder)')
    .option('--out-dir <folder>', 'one PNG per image (class-balanced) in this folder, for Inception FID with torch-fidelity')
    .addOption(new Option('--engine <name>', 'network engine: ONNX Runtime when it loads (auto), onnx, or tfjs').choices([...SAMPLING_ENGINES]).default('auto').env('JIT_ENGINE'))
    .option('--onnx-threads <n>', 'ONNX Runtime threads (default $JIT_ONNX_THREADS or the CPU cores)', int('onnx-threads'))
    .addOption(backendOption())
    .action(sampleCmd);
  program.command('info').description('show the TensorFlow.js backend, devices and presets').option('--json', 'JSON output').addOption(backendOption()).action(info);
  program.command('bench').description('training and sampling speed of JiT-Ti/16 (batch 32) and JiT-Ti/4 (batch 16) as JSON')
    .option('--smoke', 'a seconds-long run that only exercises every field')
    .option('--out <file>', 'where to write the JSON (default bench-results/bench-<backend>.json)')
    .addOption(backendOption()).action(bench);
  program.command('verify-golden').description('check this implementation against official JiT vectors (file + .json beside it)')
    .argument('<vectors.safetensors>').option('--json', 'JSON output')
    .addOption(new Option('--engine <name>', 'engine to check (every case: forward, loss and gradients, trajectories)').choices(['tfjs', 'onnx']).default('tfjs'))
    .addOption(backendOption()).action(golden);
  addCheckpointCommands(program);
  addScalarsCommand(program);
  addEvalCommand(program, { int, num, interval, backendOption });
  program.addCommand(toyCommand({ int, num, backendOption }));
  return program;
}

if (require.main === module || process.argv[1]?.endsWith('jit.js')) {
  buildProgram().parseAsync(process.argv).catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
