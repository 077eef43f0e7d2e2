// The dashboard's "Sample quality" card: the Fréchet distance of the live evaluations with the floor (the same
// distance between two sets of real images) drawn beside it, other runs' FD overlaid, class accuracy and the
// patch-seam score, and one line with the latest and best numbers.
import uPlot from 'uplot';
import { fitWidth, lineChart, showEmptyNote } from './charts';
import { EMPTY_CHARTS, emptyChartMessage } from './emptyCharts';
import type { ChartTheme } from '../shared/theme';
import { ColumnPack, unpackColumns } from '../../src/wire/columns';
import { el } from '../shared/dom';
import { QUALITY_COLUMNS, RunState, XAxis } from '../../src/wire/dashboardMessages';

export type QualityCols = Record<(typeof QUALITY_COLUMNS)[number], (number | null)[]>;

export function emptyQuality(): QualityCols {
  return Object.fromEntries(QUALITY_COLUMNS.map((n) => [n, []])) as unknown as QualityCols;
}

export function toQualityCols(pack: ColumnPack): QualityCols {
  const raw = unpackColumns(pack);
  const out = emptyQuality();
  for (const name of QUALITY_COLUMNS) out[name] = Array.from(raw[name] ?? [], (x) => (Number.isFinite(x) ? x : null));
  return out;
}

export function appendQuality(to: QualityCols, add: QualityCols): void {
  for (const name of QUALITY_COLUMNS) to[name].push(...add[name]);
}

const pct = (v: number | null | undefined) => (v == null ? '—' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null | undefined, digits = 3) => (v == null ? '—' : v.toPrecision(digits));

const HOW_MEASURED = 'Training measures it whenever that costs under a tenth of the training time so far (or every N steps with jit train --eval-every N); jit eval scores any checkpoint.';

export class QualityCard {
  private readonly summary = el('p', { class: 'quality-summary', id: 'quality-summary' });
  /** In place of the FD chart; before the first measurement, for the whole card. */
  private readonly empty = el('p', { class: 'empty', hidden: true });
  private readonly fdHost = el('div', { id: 'fd-chart', class: 'chart', 'data-points': 0 });
  private readonly accEmpty = el('p', { class: 'empty', hidden: true });
  private readonly accHost = el('div', { id: 'accuracy-chart', class: 'chart' });
  private readonly seamEmpty = el('p', { class: 'empty', hidden: true });
  private readonly seamHost = el('div', { id: 'seam-chart', class: 'chart' });
  private readonly row = el('div', { class: 'quality-row' }, el('div', {}, this.accEmpty, this.accHost), el('div', {}, this.seamEmpty, this.seamHost));
  private state: RunState | undefined;
  private charts: { plot: uPlot; observer: ResizeObserver }[] = [];
  private data: { main: QualityCols; overlays: [string, QualityCols][]; x: XAxis } = { main: emptyQuality(), overlays: [], x: 'step' };

  readonly element = el('section', { class: 'card wide', id: 'quality-card' },
    el('h2', { text: 'Sample quality' }),
    el('p', { class: 'subtitle', text: 'Fréchet distance in the features of a classifier trained on this data (lower is better; the floor is the distance between two sets of real images), class accuracy of the samples, and the patch-seam score (1 = no seams)' }),
    this.summary, this.empty, this.fdHost, this.row);

  private xs(c: QualityCols): number[] {
    return c[this.data.x].map((v, i) => v ?? c.step[i] ?? i);
  }

  private fdData(): uPlot.AlignedData {
    const { main, overlays } = this.data;
    const tables: uPlot.AlignedData[] = [[this.xs(main), main.fd, main.fdFloor]];
    for (const [, c] of overlays) tables.push([this.xs(c), c.fd]);
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }

  private one(column: 'classAccuracy' | 'seam'): uPlot.AlignedData {
    return [this.xs(this.data.main), this.data.main[column]];
  }

  /** Rebuilds the charts (theme, axis or overlays changed). */
  render(theme: ChartTheme, main: QualityCols, overlays: [string, QualityCols][], x: XAxis): void {
    this.destroy();
    this.data = { main, overlays, x };
    const [blue, ...others] = theme.series;
    const fd = lineChart(this.fdHost, theme, {
      x, log: true, height: 220, yLabel: 'Fréchet distance',
      lines: [
        { label: 'FD', color: blue, points: true },
        { label: 'floor (real vs real)', color: theme.muted, dash: [3, 3], points: true },
        ...overlays.map(([id], i) => ({ label: `${id} FD`, color: others[i % others.length], dash: [6, 4], points: true })),
      ],
    }, this.fdData());
    const acc = lineChart(this.accHost, theme, { x, height: 160, yRange: [0, 1], yLabel: 'class accuracy', lines: [{ label: 'class accuracy', color: theme.series[2], points: true }] }, this.one('classAccuracy'));
    const seam = lineChart(this.seamHost, theme, { x, height: 160, yLabel: 'seam score', lines: [{ label: 'seam score', color: theme.series[3], points: true }] }, this.one('seam'));
    this.charts = [[fd, this.fdHost], [acc, this.accHost], [seam, this.seamHost]].map(([plot, host]) => ({ plot: plot as uPlot, observer: fitWidth(plot as uPlot, host as HTMLElement) }));
    this.describe();
  }

  /** New rows of the same series. */
  update(main: QualityCols, overlays: [string, QualityCols][]): void {
    this.data = { ...this.data, main, overlays };
    const [fd, acc, seam] = this.charts;
    fd?.plot.setData(this.fdData());
    acc?.plot.setData(this.one('classAccuracy'));
    seam?.plot.setData(this.one('seam'));
    this.describe();
  }

  /** The run's training state: what the card says while it has no measurement depends on it. */
  showState(state: RunState | undefined): void {
    if (state === this.state) return;
    this.state = state;
    this.describe();
  }

  /**
   * The latest and best numbers as text, also the charts' labels for screen readers and tests; in place of a
   * chart with nothing to draw, what it waits for.
   */
  private describe(): void {
    const m = this.data.main;
    const n = m.step.length;
    const fdMessage = emptyChartMessage(EMPTY_CHARTS.fd, m.fd, n, this.state);
    showEmptyNote(this.fdHost, this.empty, fdMessage && n === 0 ? `${fdMessage} ${HOW_MEASURED}` : fdMessage);
    this.row.hidden = n === 0;
    showEmptyNote(this.accHost, this.accEmpty, emptyChartMessage(EMPTY_CHARTS.classAccuracy, m.classAccuracy, n, this.state));
    showEmptyNote(this.seamHost, this.seamEmpty, emptyChartMessage(EMPTY_CHARTS.seam, m.seam, n, this.state));
    this.summary.hidden = n === 0;
    this.fdHost.dataset.points = String(n);
    if (n === 0) {
      this.fdHost.setAttribute('aria-label', 'Fréchet distance chart, no measurements');
      return;
    }
    const last = n - 1;
    let best = -1;
    m.fd.forEach((v, i) => {
      if (v != null && (best < 0 || v < m.fd[best]!)) best = i;
    });
    const latest = `Step ${m.step[last]}: FD ${num(m.fd[last])} (floor ${num(m.fdFloor[last])})`;
    this.summary.textContent = [latest, `class accuracy ${pct(m.classAccuracy[last])}`, `precision ${num(m.precision[last], 2)}`, `recall ${num(m.recall[last], 2)}`,
      `seam ${num(m.seam[last])}`, best >= 0 ? `best FD ${num(m.fd[best])} at step ${m.step[best]}` : undefined].filter(Boolean).join(' · ');
    this.fdHost.setAttribute('aria-label', `Fréchet distance chart with ${n} measurements, latest ${num(m.fd[last])} at step ${m.step[last]}, floor ${num(m.fdFloor[last])}`);
    this.accHost.setAttribute('aria-label', `class accuracy chart, latest ${pct(m.classAccuracy[last])}`);
    this.seamHost.setAttribute('aria-label', `patch-seam score chart, latest ${num(m.seam[last])}`);
  }

  destroy(): void {
    for (const c of this.charts) {
      c.observer.disconnect();
      c.plot.destroy();
    }
    this.charts = [];
  }
}
