// `jit toy`: runs the manifold lab headless, prints the D x target table of distances (or JSON) and writes the figure.
import { Command, InvalidArgumentError, Option } from 'commander';
import * as path from 'path';
import { BackendChoice, initBackend } from '../runtime/tfjsBackend';
import type { PredictionTarget } from '../jit/config';
import { TOY_DATA_NAMES } from './data';
import { formatDistance, writeToyFigure } from './figure';
import { DEFAULT_TOY, runToyExperiment, ToyOptions, ToyResult, ToyRunCancelled, TOY_TARGETS } from './lab';

/** The option parsers the rest of the CLI uses, passed in so the toy command shares them. */
export interface CliParsers {
  int: (name: string) => (v: string) => number;
  num: (name: string) => (v: string) => number;
  backendOption: () => Option;
}

const dimList = (v: string): number[] => {
  const dims = v.split(',').map((s) => Number(s.trim()));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 2)) {
    throw new InvalidArgumentError('dims must be comma-separated whole numbers of at least 2, e.g. 2,8,16,512.');
  }
  return dims;
};

const targetList = (v: string): PredictionTarget[] => {
  const targets = v.split(',').map((s) => s.trim());
  const bad = targets.filter((t) => !TOY_TARGETS.includes(t as PredictionTarget));
  if (bad.length) throw new InvalidArgumentError(`targets must be comma-separated from ${TOY_TARGETS.join(', ')}; "${bad.join(', ')}" is not one.`);
  return targets as PredictionTarget[];
};

/** The table as text: one row per target, one column per D. */
export function formatToyTable(r: ToyResult): string {
  const { dims, targets } = r.options;
  const cellText = (dim: number, target: PredictionTarget) => {
    const c = r.cells.find((x) => x.dim === dim && x.target === target);
    return c ? formatDistance(c.distance) : '-';
  };
  const width = Math.max(8, ...dims.map((d) => `D=${d}`.length + 2));
  const rows = [
    'target'.padEnd(8) + dims.map((d) => `D=${d}`.padStart(width)).join(''),
    ...targets.map((t) => t.padEnd(8) + dims.map((d) => cellText(d, t).padStart(width)).join('')),
  ];
  return rows.join('\n');
}

async function toy(o: Record<string, unknown>): Promise<void> {
  const backend = await initBackend(o.backend as BackendChoice);
  const options: Partial<ToyOptions> = {
    data: o.data as ToyOptions['data'], dims: o.dims as number[], targets: o.targets as PredictionTarget[], steps: o.steps as number,
    batch: o.batch as number | undefined, lr: o.lr as number | undefined, seed: o.seed as number, samples: o.samples as number | undefined,
    sampleSteps: o.sampleSteps as number | undefined, pMean: o.pMean as number | undefined, pStd: o.pStd as number | undefined,
  };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`backend: ${backend.backend} (${backend.devices.join(', ')})`);
  let result: ToyResult;
  try {
    result = await runToyExperiment(options, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'cell') {
          const c = e.result;
          log(`[${e.cell + 1}/${e.cells}] D=${c.dim} ${c.target}: distance ${formatDistance(c.distance)}, final loss ${c.finalLoss.toPrecision(3)}, `
            + `trained in ${c.trainSeconds.toFixed(1)} s, sampled in ${c.sampleSeconds.toFixed(1)} s`);
        }
      },
    });
  } catch (err) {
    if (err instanceof ToyRunCancelled) {
      log(err.message);
      process.exitCode = 130;
      return;
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const out = path.resolve(String(o.out));
  await writeToyFigure(out, result);
  const r = result.options;
  if (o.json) {
    const results = result.cells.map((c) => ({ dim: c.dim, target: c.target, distance: Number.isFinite(c.distance) ? c.distance : null }));
    console.log(JSON.stringify({ results, referenceDistance: result.referenceDistance, figure: out, options: r }, null, 2));
    return;
  }
  console.log(`data: ${r.data}; ${r.steps} steps x batch ${r.batch} per model, lr ${r.lr}, t ~ logit-normal(${r.pMean}, ${r.pStd}); ${r.samples} samples, ${r.sampleSteps} Heun steps; seed ${r.seed}`);
  console.log(`sliced Wasserstein-1 distance to the true 2-D data (${r.samples} independent true points score ${formatDistance(result.referenceDistance)})`);
  console.log(formatToyTable(result));
  console.log(`wrote ${out}`);
}

export function toyCommand(p: CliParsers): Command {
  return new Command('toy')
    .description('the paper\'s toy experiment: 2-D data embedded in D dimensions, one MLP per D and prediction target (x, eps, v)')
    .addOption(new Option('--dims <list>', 'comma-separated embedding dimensions').argParser(dimList).default(DEFAULT_TOY.dims, DEFAULT_TOY.dims.join(',')))
    .addOption(new Option('--targets <list>', 'comma-separated prediction targets').argParser(targetList).default(DEFAULT_TOY.targets, DEFAULT_TOY.targets.join(',')))
    .addOption(new Option('--data <name>', '2-D distribution').choices([...TOY_DATA_NAMES]).default(DEFAULT_TOY.data))
    .option('--steps <n>', 'training steps per model', p.int('steps'), DEFAULT_TOY.steps)
    .option('--batch <n>', `batch size (default ${DEFAULT_TOY.batch})`, p.int('batch'))
    .option('--lr <x>', `peak learning rate (default ${DEFAULT_TOY.lr})`, p.num('lr'))
    .option('--samples <n>', `generated points per cell (default ${DEFAULT_TOY.samples})`, p.int('samples'))
    .option('--sample-steps <n>', `Heun sampling steps (default ${DEFAULT_TOY.sampleSteps})`, p.int('sample-steps'))
    .option('--p-mean <x>', `mean of the logit-normal training t (default ${DEFAULT_TOY.pMean}, as the image model)`, p.num('p-mean'))
    .option('--p-std <x>', `std of the logit-normal training t (default ${DEFAULT_TOY.pStd})`, p.num('p-std'))
    .option('--seed <n>', 'random seed', p.num('seed'), DEFAULT_TOY.seed)
    .option('--out <file>', 'figure PNG', 'toy.png')
    .option('--json', 'print {"results": [{"dim", "target", "distance"}]} as JSON')
    .addOption(p.backendOption())
    .action(toy);
}
