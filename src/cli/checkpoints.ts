// `jit inspect`, `jit export` and `jit import`: reading, converting and checking checkpoint files. None of these
// needs a TensorFlow.js backend; they only read and write files.
import { Command, InvalidArgumentError, Option } from 'commander';
import * as path from 'path';
import { exportForPyTorch, importPth } from '../io/convert';
import { inspectFile } from '../io/inspect';
import type { WeightsChoice } from '../train/trainer';

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

function exportCmd(checkpoint: string, o: { ema: 'ema1' | 'ema2' | 'none'; out: string }): void {
  const weights: WeightsChoice = o.ema === 'none' ? 'online' : o.ema;
  const r = exportForPyTorch(path.resolve(checkpoint), weights, path.resolve(o.out));
  console.log(`wrote ${r.file}: ${r.tensors} tensors of the ${r.weights} weights as the official state dict (load_state_dict(..., strict=True))`);
}

async function importCmd(file: string, o: { out: string; inContextStart?: number; data?: string; hflip?: boolean }): Promise<void> {
  const data = o.data ? { kind: 'folder' as const, dir: path.resolve(o.data), hflip: Boolean(o.hflip) } : undefined;
  const r = await importPth(path.resolve(file), path.resolve(o.out), { inContextStart: o.inContextStart, data });
  const m = r.config.model;
  console.log(`imported ${path.basename(file)}${r.epoch !== undefined ? ` (epoch ${r.epoch})` : ''} at step ${r.state.step}: ${r.config.preset}, ${m.inputSize} px, patch ${m.patchSize}, depth ${m.depth}, hidden ${m.hiddenSize}, ${m.numClasses} classes`);
  for (const w of r.warnings) console.log(`note: ${w}`);
  console.log(`wrote ${r.file}`);
  console.log(`continue training with: jit train --resume ${r.file} --steps <n>`);
}

const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number, 0 or more.');
  return n;
};

export function addCheckpointCommands(program: Command): void {
  program.command('inspect').description('list the tensors of a .safetensors or PyTorch .pth file with statistics')
    .argument('<file>').option('--json', 'JSON output: {format, metadata, tensors: [{name, dtype, shape, min, max, mean, std, l2, nan, inf}]}')
    .action(inspect);
  program.command('export').description('write a checkpoint\'s weights as a safetensors state dict the official PyTorch code loads')
    .argument('<checkpoint>')
    .addOption(new Option('--ema <copy>', 'weights: EMA copy or none (online)').choices(['ema1', 'ema2', 'none']).default('ema1'))
    .requiredOption('--out <file.safetensors>', 'output file')
    .action(exportCmd);
  program.command('import').description('convert an official JiT training checkpoint (.pth) into a run folder or checkpoint of this project')
    .argument('<file.pth>')
    .requiredOption('--out <dir|file.safetensors>', 'a new run folder, or a .safetensors checkpoint file')
    .option('--in-context-start <n>', 'block where the in-context tokens start (known for the official presets)', nonNegativeInt)
    .option('--data <folder>', 'image folder a resumed run trains on (default: built-in shapes)')
    .option('--hflip', 'random horizontal flips (image folders)')
    .action(importCmd);
}
