// A cell of the CFG x EMA grid as what reproduces it (no vscode import): the "JiT: Sample Images" request with the same
// noise and settings, and the same request as a `jit sample` command line.
import type { SampleRequest } from '../tasks/sampleCheckpoint';
import type { GridView } from '../wire/explorerResults';
import type { GridCellAt, GridScoresView } from '../wire/explorerMessages';
import type { GridScores } from '../wire/qualityScores';

export type CellRequest = Omit<SampleRequest, 'out' | 'engine' | 'onnx'>;

/** The request that samples cell `at` of grid `g` of `checkpoint` again. */
export function gridCellRequest(g: GridView, checkpoint: string, at: GridCellAt): CellRequest {
  const interval = g.intervals[at.interval];
  if (!g.weights[at.row] || g.cfgScales[at.column] === undefined || !interval) throw new Error('That cell is not in the grid any more: sample the grid again.');
  return {
    checkpoint, n: g.n, steps: g.steps, method: g.method, cfgScale: g.cfgScales[at.column], intervalMin: interval.min, intervalMax: interval.max,
    seed: g.seed, weights: g.weights[at.row], classes: g.labels,
  };
}

/** `r` as a `jit sample` command line as the README documents it (run in a checkout), arguments quoted for POSIX shells. */
export function sampleCommandLine(r: CellRequest): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['npm run jit -- sample', `--checkpoint ${quote(r.checkpoint)}`, `--n ${r.n}`, `--steps ${r.steps}`, `--method ${r.method}`, `--cfg ${r.cfgScale}`,
    `--interval ${r.intervalMin},${r.intervalMax}`, `--seed ${r.seed}`, `--ema ${r.weights === 'online' ? 'none' : r.weights}`,
    ...(r.classes?.length ? [`--classes ${r.classes.join(',')}`] : [])].join(' ');
}

/** Scores placed on the cells of the grid they were made for (cells not in it are left out). */
export function gridScoresView(g: GridView, s: GridScores): GridScoresView {
  const at = (c: GridScores['cells'][number]): GridCellAt => ({
    interval: g.intervals.findIndex((i) => i.min === c.intervalMin && i.max === c.intervalMax),
    row: g.weights.indexOf(c.weights),
    column: g.cfgScales.indexOf(c.cfgScale),
  });
  const placed = s.cells.map((c) => ({ ...at(c), fd: c.fd, classAccuracy: c.classAccuracy, seam: c.seam }));
  return { n: s.n, floor: s.real.fdFloor, realAccuracy: s.real.realAccuracy, seconds: s.seconds, best: at(s.cells[s.best]),
    cells: placed.filter((c) => c.interval >= 0 && c.row >= 0 && c.column >= 0) };
}
