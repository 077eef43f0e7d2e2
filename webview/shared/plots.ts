// Small plots shared by the exploration panels: a uPlot line chart over steps with shaded ranges, and a scatter /
// path plot on a canvas. Colours come from the VS Code theme; the numbers come from the engine.
import uPlot from 'uplot';
import { chartTheme, withAlpha, ChartTheme } from './theme';

export { chartTheme, withAlpha };
export type { ChartTheme };

export interface Line {
  label: string;
  values: (number | null)[];
  scale?: string;
}

/** Lines over x with `shade[i]` marking the x intervals [x_i, x_{i+1}] to shade (e.g. where guidance was active). */
export function stepChart(host: HTMLElement, t: ChartTheme, x: number[], lines: Line[], opts: { xLabel: string; yLabel: string; shade?: boolean[]; shadeLabel?: string; height?: number; marker?: () => number | undefined }): uPlot {
  const shadeColor = withAlpha(t.series[3], 0.16);
  const u = new uPlot({
    width: Math.max(220, host.clientWidth),
    height: opts.height ?? 220,
    pxAlign: false,
    legend: { live: true },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    scales: { x: { time: false }, t: { range: [0, 1] } },
    axes: [
      { stroke: t.muted, font: t.font, labelFont: t.font, label: opts.xLabel, labelSize: 20, grid: { stroke: t.grid }, ticks: { stroke: t.grid } },
      { stroke: t.muted, font: t.font, labelFont: t.font, label: opts.yLabel, labelSize: 20, size: 52, grid: { stroke: t.grid }, ticks: { stroke: t.grid } },
      ...(lines.some((l) => l.scale === 't') ? [{ scale: 't', side: 1, stroke: t.muted, font: t.font, labelFont: t.font, label: 't', labelSize: 20, size: 40, grid: { show: false } } as uPlot.Axis] : []),
    ],
    series: [
      { label: opts.xLabel },
      ...lines.map((l, i): uPlot.Series => ({ label: l.label, stroke: t.series[i % t.series.length], width: t.lineWidth, scale: l.scale ?? 'y', spanGaps: false, points: { show: x.length < 40 }, value: (_u, v) => (v == null ? '—' : v.toPrecision(4)) })),
    ],
    hooks: {
      drawClear: [(u) => {
        if (!opts.shade) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = shadeColor;
        for (let i = 0; i < opts.shade.length; i++) {
          if (!opts.shade[i]) continue;
          const x0 = u.valToPos(x[i], 'x', true);
          const x1 = u.valToPos(x[Math.min(i + 1, x.length - 1)], 'x', true);
          ctx.fillRect(Math.min(x0, x1), u.bbox.top, Math.max(2, Math.abs(x1 - x0)), u.bbox.height);
        }
        ctx.restore();
      }],
      draw: [(u) => {
        const m = opts.marker?.();
        if (m === undefined) return;
        const px = u.valToPos(m, 'x', true);
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = t.foreground;
        ctx.lineWidth = 1;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      }],
    },
  }, [x, ...lines.map((l) => l.values)] as uPlot.AlignedData, host);
  const ro = new ResizeObserver(() => {
    const w = Math.max(220, Math.floor(host.clientWidth));
    if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u.height });
  });
  ro.observe(host);
  return u;
}

export interface ScatterSeries {
  /** [P, 2] */
  points: Float32Array;
  colors: string[];
  /** Draw the points of this series joined in order (a path). */
  path?: boolean;
  width?: number;
}

/** Points or paths on a canvas, scaled to fit, with axis labels. Sized to its element's CSS width. */
export function drawScatter(canvas: HTMLCanvasElement, t: ChartTheme, series: ScatterSeries[], labels: { x: string; y: string }, highlight?: { x: number; y: number }): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(200, canvas.clientWidth);
  const h = Math.max(160, canvas.clientHeight);
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) for (let i = 0; i < s.points.length; i += 2) {
    x0 = Math.min(x0, s.points[i]); x1 = Math.max(x1, s.points[i]);
    y0 = Math.min(y0, s.points[i + 1]); y1 = Math.max(y1, s.points[i + 1]);
  }
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const m = { l: 28, r: 10, t: 10, b: 28 };
  const px = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (w - m.l - m.r);
  const py = (v: number) => h - m.b - ((v - y0) / (y1 - y0)) * (h - m.t - m.b);
  ctx.strokeStyle = t.grid;
  ctx.strokeRect(m.l, m.t, w - m.l - m.r, h - m.t - m.b);
  ctx.fillStyle = t.muted;
  ctx.font = t.font;
  ctx.fillText(labels.x, m.l, h - 8);
  ctx.save();
  ctx.translate(14, h - m.b);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(labels.y, 0, 0);
  ctx.restore();
  for (const s of series) {
    const n = s.points.length / 2;
    if (s.path) {
      ctx.lineWidth = s.width ?? t.lineWidth;
      for (let i = 1; i < n; i++) {
        ctx.strokeStyle = s.colors[Math.min(i, s.colors.length - 1)];
        ctx.beginPath();
        ctx.moveTo(px(s.points[2 * i - 2]), py(s.points[2 * i - 1]));
        ctx.lineTo(px(s.points[2 * i]), py(s.points[2 * i + 1]));
        ctx.stroke();
      }
      ctx.fillStyle = s.colors[0];
      ctx.beginPath();
      ctx.arc(px(s.points[0]), py(s.points[1]), 3, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      for (let i = 0; i < n; i++) {
        ctx.fillStyle = s.colors[i % s.colors.length];
        ctx.fillRect(px(s.points[2 * i]) - 1.5, py(s.points[2 * i + 1]) - 1.5, 3, 3);
      }
    }
  }
  if (highlight) {
    ctx.strokeStyle = t.foreground;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(px(highlight.x), py(highlight.y), 6, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

/** A colour ramp from the theme's first to second series colour, for values in [0, 1]. */
export function rampColor(t: ChartTheme, v: number): string {
  const a = rgb(t.series[0]);
  const b = rgb(t.series[1]);
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * Math.max(0, Math.min(1, v))));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function rgb(color: string): number[] {
  const m = /rgba?\(([^)]+)\)/.exec(withAlpha(color, 1));
  return m ? m[1].split(',').slice(0, 3).map((x) => Number(x.trim())) : [128, 128, 128];
}
