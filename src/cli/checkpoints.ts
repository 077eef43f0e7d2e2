// `jit inspect`, `jit export` and `jit import`: reading, converting and checking checkpoint files, and handing a
// run to the official PyTorch code. None of these needs a TensorFlow.js backend; they only read and write files.
import { Command, InvalidArgumentError, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint } from '../io/checkpoint';
import { exportForPyTorch, importPth } from '../io/convert';
import { OFFICIAL_LAST_CHECKPOINT, exportOfficial } from '../io/officialRun';
import { listCheckpoints } from '../io/runs';
import { countImageFiles } from '../train/data/folder';
import { inspectFile } from '../io/inspect';
import type { WeightsChoice } from '../io/trainerState';

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4)) : String(x));

async function inspect(file: string, o: { json?: boolean }): Promise<void> {
  const report = await inspectFile(path.resolve(file));
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`format: ${report.format}`);
  for (const [k, v] of Object.entries(report.metadata)) {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    console.log(`${k}: ${text.length > 100 ? `${text.slice(0, 100)}...` : text}`);
  }
  const width = Math.max(4, ...report.tensors.map((t) => t.name.length));
  console.log(`${'name'.padEnd(width)}  dtype ${'shape'.padEnd(18)} ${['min', 'max', 'mean', 'std', 'l2'].map((h) => h.padStart(11)).join('')}  nan/inf`);
  let total = 0;
  for (const t of report.tensors) {
    total += t.shape.reduce((a, b) => a * b, 1);
    const bad = t.nan || t.inf ? `  ${t.nan}/${t.inf}` : '';
    console.log(`${t.name.padEnd(width)}  ${t.dtype.padEnd(5)} ${`[${t.shape.join(', ')}]`.padEnd(18)} ${[t.min, t.max, t.mean, t.std, t.l2].map((x) => fmt(x).padStart(11)).join('')}${bad}`);
  }
  console.log(`${report.tensors.length} tensors, ${total} elements`);
}

interface ExportFlags {
  ema: 'ema1' | 'ema2' | 'none';
  out?: string;
  official?: string;
  gpus?: number;
  nodes?: number;
  batchSize?: number;
  datasetSize?: number;
  dataPath?: string;
}

async function exportCmd(checkpoint: string, o: ExportFlags): Promise<void> {
  if (!o.out === !o.official) throw new Error('Give either --out <file.safetensors> (the weights as a state dict) or --official <output_dir> (a checkpoint-last.pth that main_jit.py --resume continues).');
  if (o.official) return exportOfficialCmd(checkpoint, o.official, o);
  const weights: WeightsChoice = o.ema === 'none' ? 'online' : o.ema;
  const r = exportForPyTorch(path.resolve(checkpoint), weights, path.resolve(o.out!));
  console.log(`wrote ${r.file}: ${r.tensors} tensors of the ${r.weights} weights as the official state dict (load_state_dict(..., strict=True))`);
}

/** A checkpoint file, or a run folder's newest checkpoint. */
function resolveCheckpoint(target: string): string {
  const file = path.resolve(target);
  if (!fs.existsSync(file) || !fs.statSync(file).isDirectory()) return file;
  const all = listCheckpoints(file);
  if (!all.length) throw new Error(`${target} is a folder without checkpoints/step-<n>.safetensors; give a run folder or a checkpoint.`);
  return all[all.length - 1].file;
}

async function exportOfficialCmd(target: string, outputDir: string, o: ExportFlags): Promise<void> {
  const checkpoint = resolveCheckpoint(target);
  let datasetSize = o.datasetSize;
  if (datasetSize === undefined) {
    const { config } = loadCheckpoint(checkpoint);
    if (config.data.kind === 'builtin') throw new Error('This run trained on the built-in shapes, which have no fixed size: give --dataset-size <images per epoch of the data the official code trains on>.');
    datasetSize = await countImageFiles(config.data.dir);
  }
  const r = exportOfficial(checkpoint, path.resolve(outputDir), { datasetSize, gpus: o.gpus, nodes: o.nodes, batchPerGpu: o.batchSize, dataPath: o.dataPath });
  const epochs = (r.imagesSeen / datasetSize).toFixed(2);
  console.log(`wrote ${r.file}`);
  console.log(`  from ${path.basename(checkpoint)}: ${r.imagesSeen} images seen = ${epochs} epochs of ${datasetSize}; recorded as epoch ${r.epoch}, so the official code continues at epoch ${r.epoch + 1}`);
  for (const n of r.notes) console.log(`note: ${n}`);
  if (r.modelEntry) {
    console.log(`main_jit.py does not know ${r.args.model}; add this to model_jit.py (after JiT_models):`);
    console.log(r.modelEntry.split('\n').map((l) => `  ${l}`).join('\n'));
  }
  console.log('continue the run with:');
  console.log(`  ${r.command}`);
}

async function importCmd(file: string, o: { out: string; inContextStart?: number; data?: string; hflip?: boolean }): Promise<void> {
  const data = o.data ? { kind: 'folder' as const, dir: path.resolve(o.data), hflip: Boolean(o.hflip) } : undefined;
  // An official output_dir stands for its checkpoint-last.pth, as main_jit.py --resume reads it.
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    const last = path.join(file, OFFICIAL_LAST_CHECKPOINT);
    if (!fs.existsSync(last)) throw new Error(`${file} is a folder without ${OFFICIAL_LAST_CHECKPOINT}; give an official output_dir or a .pth file.`);
    file = last;
  }
  const r = await importPth(path.resolve(file), path.resolve(o.out), { inContextStart: o.inContextStart, data });
  const m = r.config.model;
  console.log(`imported ${path.basename(file)}${r.epoch !== undefined ? ` (epoch ${r.epoch})` : ''} at step ${r.state.step}: ${r.config.preset}, ${m.inputSize} px, patch ${m.patchSize}, depth ${m.depth}, hidden ${m.hiddenSize}, ${m.numClasses} classes`);
  for (const w of r.warnings) console.log(`note: ${w}`);
  console.log(`wrote ${r.file}`);
  console.log(`continue training with: jit train --resume ${r.file} --steps <n>`);
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number.');
  return n;
};

const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more.');
  return n;
};

export function addCheckpointCommands(program: Command): void {
  program.command('inspect').description('list the tensors of a .safetensors or PyTorch .pth file with statistics')
    .argument('<file>').option('--json', 'JSON output: {format, metadata, tensors: [{name, dtype, shape, min, max, mean, std, l2, nan, inf}]}')
    .action(inspect);
  program.command('export').description('hand a checkpoint to the official PyTorch code: its weights as a safetensors state dict (--out), or a checkpoint-last.pth that main_jit.py --resume continues (--official)')
    .argument('<checkpoint|run folder>')
    .addOption(new Option('--ema <copy>', 'with --out: EMA copy or none (online)').choices(['ema1', 'ema2', 'none']).default('ema1'))
    .option('--out <file.safetensors>', 'write the chosen weights as a state dict')
    .option('--official <output_dir>', 'write <output_dir>/checkpoint-last.pth and print the torchrun line that continues the run')
    .option('--gpus <n>', 'with --official: GPUs per node (torchrun --nproc_per_node)', positiveInt, 1)
    .option('--nodes <n>', 'with --official: nodes (torchrun --nnodes)', positiveInt, 1)
    .option('--batch-size <n>', 'with --official: batch per GPU (default: the run\'s batch split over the GPUs; the learning rate is kept)', positiveInt)
    .option('--dataset-size <n>', 'with --official: images per epoch of the data the official code trains on (default: counted in the run\'s image folder)', positiveInt)
    .option('--data-path <dir>', 'with --official: the official --data_path (a folder holding train/<class>/<image>)')
    .action(exportCmd);
  program.command('import').description('convert an official JiT training checkpoint (.pth) into a run folder or checkpoint of this project')
    .argument('<file.pth|output_dir>')
    .requiredOption('--out <dir|file.safetensors>', 'a new run folder, or a .safetensors checkpoint file')
    .option('--in-context-start <n>', 'block where the in-context tokens start (known for the official presets)', nonNegativeInt)
    .option('--data <folder>', 'image folder a resumed run trains on (default: built-in shapes)')
    .option('--hflip', 'random horizontal flips (image folders)')
    .action(importCmd);
}
