// The dashboard's uPlot charts: construction from the theme, and keeping each one sized to its card.
import uPlot from 'uplot';
import { ChartTheme, withAlpha } from '../shared/theme';
import type { XAxis } from '../../src/wire/dashboardMessages';

export const X_LABELS: Record<XAxis, string> = { step: 'step', imagesSeen: 'images seen', seconds: 'training time', epoch: 'epoch' };

function formatTime(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

function formatCount(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

/** Steps and images are whole numbers: ticks at 1, 2, 5, 10, 20, 50, ... */
const COUNT_INCRS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));
/** Training time ticks at whole seconds and minutes. */
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

export function xValues(x: XAxis): (u: uPlot, splits: number[]) => string[] {
  return (_u, splits) => splits.map((v) => (x === 'seconds' ? formatTime(v) : formatCount(v)));
}

function axis(t: ChartTheme, extra: uPlot.Axis = {}): uPlot.Axis {
  return {
    stroke: t.muted, font: t.font, labelFont: t.font,
    grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 },
    ...extra,
  };
}

export interface LineSpec {
  label: string;
  color: string;
  width?: number;
  alpha?: number;
  dash?: number[];
  scale?: string;
  /** Mark every point: for sparse series (a few evaluations), where a line alone may not show. */
  points?: boolean;
}

export interface ChartSpec {
  x: XAxis;
  lines: LineSpec[];
  log?: boolean;
  yLabel?: string;
  /** Fixed y range, e.g. [0, 1] for an accuracy. */
  yRange?: [number, number];
  height: number;
}

/** A line chart over the chosen x axis. */
export function lineChart(host: HTMLElement, t: ChartTheme, spec: ChartSpec, data: uPlot.AlignedData): uPlot {
  const opts: uPlot.Options = {
    width: Math.max(200, host.clientWidth),
    height: spec.height,
    pxAlign: false,
    cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: { x: { time: false }, y: spec.log ? { distr: 3, log: 10 } : spec.yRange ? { range: spec.yRange } : {} },
    axes: [
      axis(t, { values: xValues(spec.x), label: X_LABELS[spec.x], labelSize: 20, incrs: spec.x === 'seconds' ? TIME_INCRS : spec.x === 'epoch' ? undefined : COUNT_INCRS }),
      axis(t, { label: spec.yLabel, labelSize: spec.yLabel ? 20 : 0, size: 56, values: (_u, splits) => splits.map((v) => (v == null ? '' : v === 0 ? '0' : Math.abs(v) < 1e-2 || Math.abs(v) >= 1e4 ? v.toExponential(0) : String(+v.toPrecision(3)))) }),
    ],
    series: [
      { label: X_LABELS[spec.x], value: (_u, v) => (v == null ? '—' : spec.x === 'seconds' ? formatTime(v) : String(v)) },
      ...spec.lines.map((l): uPlot.Series => ({
        label: l.label, stroke: l.alpha !== undefined ? withAlpha(l.color, l.alpha) : l.color, width: l.width ?? t.lineWidth, dash: l.dash,
        spanGaps: true, points: { show: l.points ?? false, size: 5 }, scale: l.scale ?? 'y',
        value: (_u, v) => (v == null ? '—' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v.toPrecision(4)),
      })),
    ],
  };
  return new uPlot(opts, data, host);
}

/**
 * Loss by t-bucket drawn as steps over t in [0, 1], with the density of training t as a shaded area on its
 * own axis behind it (where the density is low, a bucket's mean rests on few images).
 */
export function tBucketChart(host: HTMLElement, t: ChartTheme, data: uPlot.AlignedData): uPlot {
  const lossColor = t.series[1];
  const opts: uPlot.Options = {
    width: Math.max(200, host.clientWidth),
    height: 220,
    pxAlign: false,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: { x: { time: false, range: [0, 1] }, density: { range: (_u, _min, max) => [0, Math.max(max, 1e-9) * 1.1] }, y: { range: (_u, _min, max) => [0, Math.max(max, 1e-9) * 1.1] } },
    axes: [
      axis(t, { label: 't (0 = noise, 1 = data)', labelSize: 20, values: (_u, s) => s.map((v) => String(+v.toFixed(2))) }),
      axis(t, { label: 'v-loss', labelSize: 20, size: 56, values: (_u, s) => s.map((v) => String(+v.toPrecision(3))) }),
      axis(t, { scale: 'density', side: 1, label: 'density of t', labelSize: 20, size: 48, grid: { show: false }, values: (_u, s) => s.map((v) => String(+v.toFixed(1))) }),
    ],
    series: [
      { label: 't', value: (_u, v) => (v == null ? '—' : v.toFixed(3)) },
      { label: 'density of t', scale: 'density', stroke: withAlpha(t.density, 0.8), width: 1, fill: withAlpha(t.density, 0.15), points: { show: false }, value: (_u, v) => (v == null ? '—' : v.toFixed(2)) },
      {
        label: 'mean loss in bucket', scale: 'y', stroke: lossColor, width: t.lineWidth, fill: withAlpha(lossColor, 0.18), points: { show: false },
        paths: uPlot.paths.stepped!({ align: 1 }), spanGaps: false, value: (_u, v) => (v == null ? '—' : v.toPrecision(4)),
      },
    ],
  };
  return new uPlot(opts, data, host);
}

/** Keeps a chart as wide as its container. */
export function fitWidth(u: uPlot, host: HTMLElement): ResizeObserver {
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, Math.floor(host.clientWidth));
    if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u.height });
  });
  ro.observe(host);
  return ro;
}

/** Shows `message` in place of the chart in `host` (hidden while there is nothing to draw), or the chart. */
export function showEmptyNote(host: HTMLElement, note: HTMLElement, message: string | undefined): void {
  note.hidden = message === undefined;
  note.textContent = message ?? '';
  host.hidden = message !== undefined;
}
