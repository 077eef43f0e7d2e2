// The lab's figure, laid out like the paper's Fig. 2: one row per prediction target, one column per D. Each cell
// shows the true 2-D points (light), the generated points projected back to 2-D (dark), a few sampling paths
// (orange) and the cell's sliced Wasserstein distance. Points outside the view are pinned to its border, so a
// model whose samples fly off still shows where they went.
import * as fs from 'fs';
import * as path from 'path';
import { encodePng } from '../io/png';
import type { Point, ToyResult } from './lab';
import { Canvas, Rgb, textWidth } from './raster';

const CELL = 220;
const GAP = 8;
const LEFT = 44; // room for the row labels
const TOP = 28; // room for the column labels
const BACKGROUND: Rgb = [255, 255, 255];
const CELL_BACKGROUND: Rgb = [246, 246, 246];
const TRUTH: Rgb = [190, 205, 225];
const GENERATED: Rgb = [20, 40, 120];
const PATH: Rgb = [235, 125, 30];
const LABEL: Rgb = [40, 40, 40];

/** Distance as the figure and the CLI table print it. */
export function formatDistance(d: number): string {
  return Number.isFinite(d) ? d.toFixed(3) : 'inf';
}

export function renderToyFigure(r: ToyResult): Canvas {
  const { dims, targets } = r.options;
  const width = LEFT + dims.length * (CELL + GAP);
  const height = TOP + targets.length * (CELL + GAP);
  const canvas = new Canvas(width, height, BACKGROUND);
  // One view for every cell: the true data's extent plus a margin, square so shapes are not distorted.
  const half = 1.2 * Math.max(...r.truth.map(([x, y]) => Math.max(Math.abs(x), Math.abs(y))));
  const inset = 3;
  const toPixel = (left: number, top: number, [x, y]: Point): [number, number] => {
    const clamp = (v: number) => Math.min(1, Math.max(-1, Number.isFinite(v) ? v / half : Math.sign(v) || 1));
    const span = CELL - 1 - 2 * inset;
    return [left + inset + ((clamp(x) + 1) / 2) * span, top + inset + ((1 - clamp(y)) / 2) * span]; // y grows upwards
  };

  dims.forEach((d, col) => {
    const label = `D=${d}`;
    canvas.text(LEFT + col * (CELL + GAP) + (CELL - textWidth(label)) / 2, 8, label, LABEL);
  });
  targets.forEach((target, row) => {
    const top = TOP + row * (CELL + GAP);
    canvas.text(8, top + CELL / 2 - 5, target, LABEL);
    dims.forEach((dim, col) => {
      const left = LEFT + col * (CELL + GAP);
      canvas.fillRect(left, top, CELL, CELL, CELL_BACKGROUND);
      for (const p of r.truth) canvas.dot(...toPixel(left, top, p), 2, TRUTH);
      const cell = r.cells.find((c) => c.dim === dim && c.target === target);
      if (!cell) return; // not run (yet): an empty panel
      for (const p of cell.samples) canvas.dot(...toPixel(left, top, p), 2, GENERATED);
      for (const path of cell.trajectories) {
        for (let i = 1; i < path.length; i++) canvas.line(...toPixel(left, top, path[i - 1]), ...toPixel(left, top, path[i]), PATH);
        if (path.length > 0) canvas.dot(...toPixel(left, top, path[path.length - 1]), 4, PATH);
      }
      const label = formatDistance(cell.distance);
      canvas.fillRect(left + 3, top + 3, textWidth(label) + 5, 16, CELL_BACKGROUND); // keeps the number legible over points
      canvas.text(left + 6, top + 6, label, LABEL);
    });
  });
  return canvas;
}

/** Renders the figure and writes it as a PNG. */
export async function writeToyFigure(file: string, r: ToyResult): Promise<void> {
  const canvas = renderToyFigure(r);
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.promises.writeFile(file, await encodePng(canvas.rgb, canvas.width, canvas.height));
}
