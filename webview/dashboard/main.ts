// The training dashboard page: loss (raw and smoothed, log scale, x as step / images seen / training time,
// other runs overlaid), loss by t-bucket over the density of t, learning rate, gradient norm, images/s, the
// latest sample grid and the run's configuration. Data comes from the host; view settings persist in setState.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import uPlot from 'uplot';
import { fitWidth, lineChart, showEmptyNote, tBucketChart } from './charts';
import { EMPTY_CHARTS, emptyChartMessage } from './emptyCharts';
import { QualityCard, QualityCols, appendQuality, emptyQuality, toQualityCols } from './quality';
import { chartTheme } from '../shared/theme';
import { ColumnPack, unpackColumns } from '../../src/wire/columns';
import { clear, el, onThemeChange } from '../shared/dom';
import { DashboardState, FromDashboard, METRIC_COLUMNS, RunChoice, RunStatus, RunView, SampleView, T_BUCKETS, ToDashboard, XAxis, lossByTColumn } from '../../src/wire/dashboardMessages';
import { smoothSeries } from '../shared/smoothing';
import { viewApi } from '../shared/vscodeApi';

type Cols = Record<string, (number | null)[]>;

const api = viewApi<DashboardState, FromDashboard>();
const saved = api.getState();
const ui: DashboardState = {
  runDir: saved?.runDir ?? '',
  smoothing: saved?.smoothing ?? 0.6,
  logScale: saved?.logScale ?? false,
  xAxis: saved?.xAxis ?? 'step',
  overlays: saved?.overlays ?? [],
};
/** Loss by t averages the last this-many steps (a single batch puts only a few images in each bucket). */
const T_WINDOW = 100;
const COLUMN_NAMES = [...METRIC_COLUMNS, ...Array.from({ length: T_BUCKETS }, (_, b) => lossByTColumn(b))];

let status: RunStatus | undefined;
let main: Cols = emptyCols();
const overlays = new Map<string, Cols>();
let quality: QualityCols = emptyQuality();
const overlayQuality = new Map<string, QualityCols>();
const qualityCard = new QualityCard();
let runs: RunChoice[] = [];
let density: { t: number[]; d: number[] } | undefined;

function emptyCols(): Cols {
  return Object.fromEntries(COLUMN_NAMES.map((n) => [n, []]));
}

function toCols(pack: ColumnPack): Cols {
  const raw = unpackColumns(pack);
  const out = emptyCols();
  for (const [k, v] of Object.entries(raw)) out[k] = Array.from(v, (x) => (Number.isFinite(x) ? x : null));
  return out;
}

function save(): void {
  api.setState(ui);
}

// ---------------------------------------------------------------------------------------------------------
// Page structure (built once; charts are rebuilt on theme or axis changes)

const app = document.getElementById('app')!;
const title = el('h1', { text: 'JiT Dashboard' });
const statusLine = el('p', { class: 'status', role: 'status' });
const meta = el('p', { class: 'meta' });
const stopButton = el('button', { type: 'button', text: 'Stop', title: 'Stop after this step and save a checkpoint' });
const checkpointButton = el('button', { type: 'button', class: 'secondary', text: 'Save checkpoint', title: 'Write a checkpoint after this step' });
const banner = el('p', { class: 'banner', hidden: true });

const xSelect = el('select', { id: 'x-axis', 'aria-label': 'x axis' },
  el('option', { value: 'step', text: 'Step' }), el('option', { value: 'imagesSeen', text: 'Images seen' }), el('option', { value: 'seconds', text: 'Training time' }),
  el('option', { value: 'epoch', text: 'Epoch' }));
const smoothInput = el('input', { id: 'smoothing', type: 'range', min: 0, max: 0.99, step: 0.01, 'aria-label': 'smoothing' });
const smoothValue = el('output', { for: 'smoothing' });
const logInput = el('input', { id: 'log-scale', type: 'checkbox' });

const lossHost = el('div', { id: 'loss-chart', class: 'chart', 'data-points': 0 });
const lossEmpty = el('p', { class: 'empty', hidden: true });
const tHost = el('div', { id: 't-chart', class: 'chart' });
const lrHost = el('div', { id: 'lr-chart', class: 'chart' });
const gradHost = el('div', { id: 'grad-chart', class: 'chart' });
const ipsHost = el('div', { id: 'ips-chart', class: 'chart' });
const memHost = el('div', { id: 'memory-chart', class: 'chart' });
/** The sentence each chart shows while it has nothing to draw (see emptyCharts.ts). */
const emptyNote = () => el('p', { class: 'empty', hidden: true });
const tEmpty = emptyNote();
const sampleImg = el('img', { id: 'sample-image', alt: 'Latest sample grid', hidden: true });
const sampleCaption = el('p', { class: 'caption' });
const compareList = el('div', { class: 'compare', role: 'group', 'aria-label': 'runs to overlay' });
const configTable = el('table', { class: 'config' });

/** The one-metric charts below the loss: their column, a smoothed line over the raw one or not, their colour. */
const SMALL_CHARTS = [
  { key: 'lr', host: lrHost, empty: emptyNote(), column: 'lr', label: 'lr', smooth: false, color: 2 },
  { key: 'grad', host: gradHost, empty: emptyNote(), column: 'gradNorm', label: 'grad norm', smooth: true, color: 3 },
  { key: 'ips', host: ipsHost, empty: emptyNote(), column: 'imagesPerSec', label: 'images/s', smooth: false, color: 4 },
  { key: 'mem', host: memHost, empty: emptyNote(), column: 'rssMB', label: 'RSS MiB', smooth: false, color: 5 },
] as const;

function card(heading: string, subtitle: string | undefined, ...body: (Node | undefined)[]): HTMLElement {
  return el('section', { class: 'card' }, el('h2', { text: heading }), subtitle ? el('p', { class: 'subtitle', text: subtitle }) : undefined, ...body);
}

app.append(
  el('header', {}, el('div', { class: 'title' }, title, statusLine, meta), el('div', { class: 'actions' }, checkpointButton, stopButton)),
  banner,
  el('div', { class: 'controls' },
    el('label', {}, 'x axis ', xSelect),
    el('label', {}, 'Smoothing ', smoothInput, smoothValue),
    el('label', {}, logInput, ' Log scale')),
  el('div', { class: 'grid' },
    el('section', { class: 'card wide' }, el('h2', { text: 'Loss' }), el('p', { class: 'subtitle', text: 'v-loss per step: raw (faint) and smoothed; other runs smoothed, dashed' }), lossEmpty, lossHost),
    qualityCard.element,
    card('Loss by t', `mean over the last ${T_WINDOW} steps per t-bucket; shaded: how often training draws each t`, tEmpty, tHost),
    card('Learning rate', undefined, SMALL_CHARTS[0].empty, lrHost),
    card('Gradient norm', 'before clipping', SMALL_CHARTS[1].empty, gradHost),
    card('Images per second', undefined, SMALL_CHARTS[2].empty, ipsHost),
    card('Memory', 'resident memory of the training process, MiB: flat when nothing leaks', SMALL_CHARTS[3].empty, memHost),
    card('Latest samples', undefined, sampleImg, sampleCaption),
    card('Compare runs', 'overlay the smoothed loss of other runs in this runs folder', compareList),
    el('section', { class: 'card wide' }, el('h2', { text: 'Configuration' }), configTable)),
);

xSelect.value = ui.xAxis;
smoothInput.value = String(ui.smoothing);
smoothValue.textContent = ui.smoothing.toFixed(2);
logInput.checked = ui.logScale;

xSelect.addEventListener('change', () => {
  ui.xAxis = xSelect.value as XAxis;
  save();
  rebuildCharts();
});
smoothInput.addEventListener('input', () => {
  ui.smoothing = Number(smoothInput.value);
  smoothValue.textContent = ui.smoothing.toFixed(2);
  save();
  scheduleUpdate();
});
logInput.addEventListener('change', () => {
  ui.logScale = logInput.checked;
  save();
  rebuildCharts();
});
stopButton.addEventListener('click', () => api.post({ type: 'stop' }));
checkpointButton.addEventListener('click', () => api.post({ type: 'saveCheckpoint' }));
sampleImg.addEventListener('click', () => api.post({ type: 'openSample' }));

// ---------------------------------------------------------------------------------------------------------
// Charts

interface Chart {
  plot: uPlot;
  observer: ResizeObserver;
}
const charts: Record<'loss' | 't' | 'lr' | 'grad' | 'ips' | 'mem', Chart | undefined> = { loss: undefined, t: undefined, lr: undefined, grad: undefined, ips: undefined, mem: undefined };

function visibleOverlays(): [string, Cols][] {
  return ui.overlays.filter((id) => overlays.has(id)).map((id) => [id, overlays.get(id)!]);
}

function visibleQualityOverlays(): [string, QualityCols][] {
  return ui.overlays.filter((id) => overlayQuality.has(id)).map((id) => [id, overlayQuality.get(id)!]);
}

function xs(c: Cols): number[] {
  return c[ui.xAxis].map((v, i) => v ?? c.step[i] ?? i);
}

function lossData(): uPlot.AlignedData {
  const tables: uPlot.AlignedData[] = [[xs(main), main.loss, smoothSeries(main.loss, ui.smoothing)]];
  for (const [, c] of visibleOverlays()) tables.push([xs(c), smoothSeries(c.loss, ui.smoothing)]);
  return tables.length === 1 ? tables[0] : uPlot.join(tables);
}

/** Mean loss of each t-bucket over the last T_WINDOW steps, spread over the density's t grid. */
function tData(): uPlot.AlignedData {
  const n = main.step.length;
  const means: (number | null)[] = [];
  for (let b = 0; b < T_BUCKETS; b++) {
    const col = main[lossByTColumn(b)];
    let sum = 0;
    let count = 0;
    for (let i = Math.max(0, n - T_WINDOW); i < n; i++) {
      const v = col[i];
      if (v !== null && v !== undefined) {
        sum += v;
        count++;
      }
    }
    means.push(count ? sum / count : null);
  }
  const t = density?.t ?? Array.from({ length: T_BUCKETS }, (_, b) => (b + 0.5) / T_BUCKETS);
  const bucketOf = (x: number) => Math.min(T_BUCKETS - 1, Math.floor(x * T_BUCKETS));
  return [t, density?.d ?? t.map(() => null), t.map((x) => means[bucketOf(x)])];
}

function small(col: string, smooth: boolean): uPlot.AlignedData {
  return smooth ? [xs(main), main[col], smoothSeries(main[col], ui.smoothing)] : [xs(main), main[col]];
}

function destroyCharts(): void {
  for (const k of Object.keys(charts) as (keyof typeof charts)[]) {
    charts[k]?.observer.disconnect();
    charts[k]?.plot.destroy();
    charts[k] = undefined;
  }
  qualityCard.destroy();
}

function make(host: HTMLElement, plot: uPlot): Chart {
  return { plot, observer: fitWidth(plot, host) };
}

function rebuildCharts(): void {
  destroyCharts();
  const th = chartTheme();
  const [blue, ...others] = th.series;
  charts.loss = make(lossHost, lineChart(lossHost, th, {
    x: ui.xAxis, log: ui.logScale, height: 280,
    lines: [
      { label: 'loss', color: blue, width: 1, alpha: 0.45 },
      { label: 'smoothed', color: blue },
      ...visibleOverlays().map(([id], i) => ({ label: id, color: others[i % others.length], dash: [6, 4] })),
    ],
  }, lossData()));
  charts.t = make(tHost, tBucketChart(tHost, th, tData()));
  qualityCard.render(th, quality, visibleQualityOverlays(), ui.xAxis);
  for (const c of SMALL_CHARTS) {
    const color = th.series[c.color];
    const lines = c.smooth ? [{ label: c.label, color, width: 1, alpha: 0.35 }, { label: 'smoothed', color }] : [{ label: c.label, color }];
    charts[c.key] = make(c.host, lineChart(c.host, th, { x: ui.xAxis, height: 180, lines }, small(c.column, c.smooth)));
  }
  markPoints();
}

let pending = 0;
function scheduleUpdate(): void {
  if (pending) return;
  pending = requestAnimationFrame(() => {
    pending = 0;
    charts.loss?.plot.setData(lossData());
    charts.t?.plot.setData(tData());
    for (const c of SMALL_CHARTS) charts[c.key]?.plot.setData(small(c.column, c.smooth));
    qualityCard.update(quality, visibleQualityOverlays());
    markPoints();
  });
}

/**
 * The number of loss points drawn and the latest memory reading, readable by tests and assistive tools, and in
 * place of each chart with nothing to draw, the sentence that says what it waits for.
 */
function markPoints(): void {
  const n = main.step.length;
  const state = status?.state;
  lossHost.dataset.points = String(n);
  lossHost.setAttribute('aria-label', `loss chart with ${n} steps`);
  const rss = n > 0 ? main.rssMB[n - 1] : null; // null: no step yet, or a run logged before memory was
  memHost.setAttribute('aria-label', rss != null ? `memory chart, latest ${Math.round(rss)} MiB` : 'memory chart, no readings');
  // Other runs' overlaid losses are worth a chart even before this run's first step.
  showEmptyNote(lossHost, lossEmpty, visibleOverlays().length ? undefined : emptyChartMessage(EMPTY_CHARTS.loss, main.loss, n, state));
  showEmptyNote(tHost, tEmpty, emptyChartMessage(EMPTY_CHARTS.lossByT, tData()[2] as (number | null)[], n, state));
  for (const c of SMALL_CHARTS) showEmptyNote(c.host, c.empty, emptyChartMessage(EMPTY_CHARTS[c.column], main[c.column], n, state));
  qualityCard.showState(state);
}

onThemeChange(rebuildCharts);

// ---------------------------------------------------------------------------------------------------------
// Text parts

function formatDuration(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '';
  const t = Math.round(s);
  return t >= 3600 ? `${Math.floor(t / 3600)}h ${Math.floor((t % 3600) / 60)}m` : t >= 60 ? `${Math.floor(t / 60)}m ${t % 60}s` : `${t}s`;
}

function showStatus(): void {
  const s = status;
  if (!s) return;
  const of = `step ${s.step}${s.totalSteps ? ` / ${s.totalSteps}` : ''}`;
  const text: Record<RunStatus['state'], string> = {
    training: `Training · ${of}${s.etaSeconds !== undefined && Number.isFinite(s.etaSeconds) ? ` · ETA ${formatDuration(s.etaSeconds)}` : ''}`,
    stopping: `Stopping after step ${s.step}, then saving a checkpoint…`,
    completed: `Finished · ${of}`,
    stopped: `Stopped · ${of} · resumable from its checkpoint`,
    diverged: `Diverged at step ${s.step}${s.message ? `: ${s.message}` : ''}`,
    crashed: `The engine stopped at step ${s.step} · resumable from the last checkpoint`,
    idle: `Not training · ${of}`,
  };
  statusLine.textContent = text[s.state];
  statusLine.dataset.state = s.state;
  stopButton.hidden = s.state !== 'training';
  checkpointButton.hidden = s.state !== 'training';
  markPoints();
}

/** The first x axis of the run shown before (an official run's is epoch, this project's step). */
let firstAxis: XAxis | undefined;

/** Offers the x axes the run has values for, keeping the chosen one unless the new run is of another kind. */
function showAxes(r: RunView, newRun: boolean): void {
  for (const o of Array.from(xSelect.options)) o.hidden = !r.xAxes.includes(o.value as XAxis);
  if (r.xAxes.length && (!r.xAxes.includes(ui.xAxis) || (newRun && r.xAxes[0] !== (firstAxis ?? 'step')))) ui.xAxis = r.xAxes[0];
  firstAxis = r.xAxes[0];
  xSelect.value = ui.xAxis;
}

function showRun(r: RunView, newRun: boolean): void {
  showAxes(r, newRun);
  title.textContent = r.id;
  meta.textContent = `${r.preset} · ${r.dataset} · ${r.engine}${r.devices !== '—' ? ` on ${r.devices}` : ''}`;
  clear(configTable);
  const rows: [string, string][] = [...r.config, ['Engine', r.engine], ['Devices', r.devices], ['Created', r.created]];
  for (const [k, v] of rows) configTable.append(el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: v })));
}

function showSample(s: SampleView | undefined): void {
  sampleImg.hidden = !s;
  if (s) {
    sampleImg.src = s.uri;
    sampleImg.title = 'Open the grid in an editor';
  }
  sampleCaption.textContent = s ? `Step ${s.step}: ${s.caption}` : 'No sample grid yet: one is written every few hundred steps and when training ends.';
}

function showRuns(): void {
  clear(compareList);
  ui.overlays = ui.overlays.filter((id) => runs.some((r) => r.id === id));
  if (!runs.length) {
    compareList.append(el('p', { class: 'empty', text: 'No other runs in this runs folder.' }));
    return;
  }
  for (const r of runs) {
    const box = el('input', { type: 'checkbox', value: r.id, checked: ui.overlays.includes(r.id) });
    box.addEventListener('change', () => {
      ui.overlays = box.checked ? [...ui.overlays, r.id] : ui.overlays.filter((x) => x !== r.id);
      save();
      if (box.checked && !overlays.has(r.id)) api.post({ type: 'overlay', id: r.id });
      else rebuildCharts();
    });
    compareList.append(el('label', {}, box, ` ${r.id}`, el('span', { class: 'muted', text: ` ${r.preset}, ${r.steps} steps` })));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Messages from the host

window.addEventListener('message', (event: MessageEvent<ToDashboard>) => {
  const m = event.data;
  switch (m.type) {
    case 'run':
      banner.hidden = true;
      const newRun = m.runDir !== ui.runDir;
      ui.runDir = m.runDir;
      status = m.status;
      main = toCols(m.series);
      quality = toQualityCols(m.quality);
      runs = m.runs;
      showRun(m.run, newRun);
      showStatus();
      showSample(m.sample);
      showRuns();
      save();
      for (const id of ui.overlays) if (!overlays.has(id)) api.post({ type: 'overlay', id });
      rebuildCharts();
      return;
    case 'append': {
      const add = toCols(m.series);
      for (const k of COLUMN_NAMES) main[k].push(...add[k]);
      scheduleUpdate();
      return;
    }
    case 'appendQuality':
      appendQuality(quality, toQualityCols(m.quality));
      scheduleUpdate();
      return;
    case 'status':
      status = m.status;
      showStatus();
      return;
    case 'sample':
      showSample(m.sample);
      return;
    case 'runs':
      runs = m.runs;
      showRuns();
      return;
    case 'overlay':
      overlays.set(m.id, toCols(m.series));
      overlayQuality.set(m.id, toQualityCols(m.quality));
      if (ui.overlays.includes(m.id)) rebuildCharts();
      return;
    case 'density': {
      const c = unpackColumns(m.density);
      density = { t: Array.from(c.t), d: Array.from(c.density) };
      scheduleUpdate();
      return;
    }
    case 'error':
      banner.textContent = m.message;
      banner.hidden = false;
      return;
  }
});

showSample(undefined);
rebuildCharts();
api.post({ type: 'ready' });
