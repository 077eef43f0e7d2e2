// The CFG x EMA grid: rows are the EMA copies and the online weights, columns the guidance scales, every cell the
// same seeds; a switch between guidance in the interval and guidance at every step. The settings above the grid
// sample it again; a selected cell can be sampled as a full "JiT: Sample Images" (with its trajectory) or copied as a
// `jit sample` command; the grid of the shown interval saves as one PNG.
import './style.css';
import { clear, cssVar, el } from '../shared/dom';
import { imageCanvas } from '../shared/pixels';
import { unpackTensor } from '../../src/wire/tensorPack';
import { FromGrid, GridCellAt, GridData, GridScoresView, GridSettings, GridState, ToGrid } from '../../src/wire/explorerMessages';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<GridState, FromGrid>();
const state: GridState = api.getState() ?? {};
const app = document.getElementById('app')!;
const status = el('p', { class: 'status', role: 'status', text: 'Sampling the grid in the engine…' });
const form = settingsForm();
const content = el('div', { hidden: true });
app.append(status, form.element, content);
let data: GridData | undefined;
let scores: GridScoresView | undefined;
let scoring = '';

/** The settings row: CFG scales, seed, images per cell, steps, and a button that samples the grid with them. */
function settingsForm(): { element: HTMLElement; show(s: GridSettings): void } {
  const input = (label: string, attrs: Record<string, string | number>) => {
    const i = el('input', { 'aria-label': label, ...attrs });
    return { i, wrap: el('label', { class: 'field' }, el('span', { text: label }), i) };
  };
  const scales = input('CFG scales', { type: 'text', size: 18, placeholder: '1, 1.5, 2, 3, 4' });
  const seed = input('seed', { type: 'number', min: 0, step: 1 });
  const n = input('images per cell', { type: 'number', min: 1, max: 16, step: 1 });
  const steps = input('steps', { type: 'number', min: 2, max: 200, step: 1 });
  const error = el('span', { class: 'error', role: 'alert' });
  const button = el('button', { type: 'button', text: 'Sample the grid' });
  const element = el('div', { class: 'row settings', role: 'group', 'aria-label': 'grid settings' }, scales.wrap, seed.wrap, n.wrap, steps.wrap, button, error);
  // Panels run with forms disabled: the button and Enter in a field submit.
  const submit = () => {
    const cfgScales = scales.i.value.split(/[\s,]+/).filter(Boolean).map(Number);
    const s: GridSettings = { cfgScales, seed: Number(seed.i.value), n: Number(n.i.value), steps: Number(steps.i.value) };
    const problem = !cfgScales.length || cfgScales.some((c) => !Number.isFinite(c) || c < 0) ? 'CFG scales are numbers of 0 or more, separated by commas.'
      : !Number.isInteger(s.seed) || s.seed < 0 ? 'The seed is a whole number of 0 or more.'
        : !Number.isInteger(s.n) || s.n < 1 || s.n > 16 ? 'Images per cell: a whole number from 1 to 16.'
          : !Number.isInteger(s.steps) || s.steps < 2 || s.steps > 200 ? 'Steps: a whole number from 2 to 200.' : '';
    error.textContent = problem;
    if (problem) return;
    state.settings = s;
    state.selected = undefined;
    api.setState(state);
    api.post({ type: 'sample', settings: s });
  };
  button.addEventListener('click', submit);
  for (const f of [scales, seed, n, steps]) f.i.addEventListener('keydown', (e) => e.key === 'Enter' && submit());
  return {
    element,
    show(s) {
      scales.i.value = s.cfgScales.join(', ');
      seed.i.value = String(s.seed);
      n.i.value = String(s.n);
      steps.i.value = String(s.steps);
      error.textContent = '';
    },
  };
}

const cellTitle = (d: GridData, at: GridCellAt) => `${d.rows[at.row]}, CFG ${d.settings.cfgScales[at.column]}, ${d.intervals[at.interval]}`;

function render(): void {
  if (!data) return;
  const d = data;
  const iv = Math.min(state.interval ?? 0, d.intervals.length - 1);
  const cells = unpackTensor(d.pack, 'cells', 'uint8').data;
  const R = d.rows.length;
  const C = d.settings.cfgScales.length;
  const S = d.imageSize;
  const n = d.settings.n;
  const toggle = el('select', { 'aria-label': 'guidance interval' }, ...d.intervals.map((t, i) => el('option', { value: i, text: t })));
  toggle.value = String(iv);
  toggle.addEventListener('change', () => {
    state.interval = Number(toggle.value);
    if (state.selected) state.selected.interval = state.interval;
    api.setState(state);
    render();
  });
  const save = el('button', { type: 'button', text: 'Save PNG…', title: 'Save this interval\'s grid as one PNG image' });
  save.addEventListener('click', () => api.post({ type: 'savePng', dataUrl: gridPng(d, iv, cells), interval: iv }));

  const quick = el('button', { type: 'button', class: 'secondary', text: 'Score cells', title: 'Fréchet distance and class accuracy of every cell, each on its own samples (quick)' });
  quick.addEventListener('click', () => api.post({ type: 'score', sweep: false }));
  const sweep = el('button', { type: 'button', class: 'secondary', text: 'Sweep', title: 'The same with many more samples per cell, for a ranking to rely on (slow)' });
  sweep.addEventListener('click', () => api.post({ type: 'score', sweep: true }));
  const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(0)}%`);
  const scoreLine = el('p', { class: 'muted scores', id: 'grid-scores', role: 'status',
    text: scoring || (scores ? `Scores on ${scores.n} samples per cell (${scores.seconds.toFixed(0)} s): FD, lower is better; real images score ${scores.floor.toPrecision(3)} (the floor)${scores.realAccuracy === null ? '' : ` and ${pct(scores.realAccuracy)} accuracy`}. ★ marks the lowest FD.` : 'Score the cells to rank them by sample quality.') });
  const scoreAt = (at: GridCellAt) => scores?.cells.find((c) => c.interval === at.interval && c.row === at.row && c.column === at.column);
  const isBest = (at: GridCellAt) => !!scores && scores.best.interval === at.interval && scores.best.row === at.row && scores.best.column === at.column;

  const table = el('div', { class: 'gridtable', role: 'grid', 'aria-label': 'CFG scale by weights', style: `grid-template-columns: auto repeat(${C}, minmax(64px, 1fr))` });
  table.append(el('span', {}), ...d.settings.cfgScales.map((c) => el('span', { class: 'head', text: `CFG ${c}` })));
  for (let r = 0; r < R; r++) {
    table.append(el('span', { class: 'head row-head', text: d.rows[r] }));
    for (let c = 0; c < C; c++) {
      const at = { interval: iv, row: r, column: c };
      const selected = state.selected?.row === r && state.selected.column === c;
      const sc = scoreAt(at);
      const best = isBest(at);
      const label = sc ? ` · FD ${sc.fd.toPrecision(3)}, accuracy ${pct(sc.classAccuracy)}${best ? ', best' : ''}` : '';
      const cell = el('button', { type: 'button', class: `cell${selected ? ' selected' : ''}${best ? ' best' : ''}`, title: cellTitle(d, at) + label, 'aria-pressed': String(selected) });
      const images = el('span', { class: 'images', style: `grid-template-columns: repeat(${Math.min(n, 2)}, 1fr)` });
      const base = ((iv * R + r) * C + c) * n;
      for (let i = 0; i < n; i++) images.append(imageCanvas(cells, base + i, S, S, `${d.rows[r]} CFG ${d.settings.cfgScales[c]} image ${i + 1} (${d.labels[i]})`));
      cell.append(images);
      if (sc) cell.append(el('span', { class: 'score', text: `${best ? '★ ' : ''}FD ${sc.fd.toPrecision(3)} · ${pct(sc.classAccuracy)}` }));
      cell.addEventListener('click', () => {
        state.selected = selected ? undefined : at;
        api.setState(state);
        render();
      });
      table.append(cell);
    }
  }

  const actions = el('div', { class: 'row selection', 'aria-live': 'polite' });
  if (state.selected) {
    const at = { ...state.selected, interval: iv };
    const sampleCell = el('button', { type: 'button', text: 'Sample this cell', title: 'The same noise and settings as "JiT: Sample Images", saved in the run with its trajectory' });
    sampleCell.addEventListener('click', () => api.post({ type: 'sampleCell', ...at }));
    const copy = el('button', { type: 'button', text: 'Copy as jit sample command' });
    copy.addEventListener('click', () => api.post({ type: 'copyCell', ...at }));
    actions.append(el('span', { text: `Selected: ${cellTitle(d, at)}` }), sampleCell, copy);
  } else {
    actions.append(el('span', { class: 'muted', text: 'Select a cell to sample it again with its trajectory or copy its command.' }));
  }

  clear(content);
  content.append(el('h1', { text: d.title }),
    el('p', { class: 'muted', text: `${d.settings.steps} Heun steps, seed ${d.settings.seed} in every cell, ${n} images per cell; ${d.engine}, ${d.seconds.toFixed(1)} s` }),
    el('div', { class: 'row' }, toggle, save, quick, sweep), scoreLine, el('p', { class: 'muted', text: `classes per cell: ${d.labels.join(', ')}` }), table, actions);
}

/** The grid of one interval as a PNG data URL: a header row of CFG scales, a label column of weights, cells of n images. */
function gridPng(d: GridData, iv: number, cells: Uint8Array): string {
  const S = d.imageSize;
  const n = d.settings.n;
  const R = d.rows.length;
  const C = d.settings.cfgScales.length;
  const perRow = Math.min(n, 2);
  const scale = Math.max(1, Math.round(64 / S));
  const cellW = perRow * S * scale;
  const cellH = Math.ceil(n / perRow) * S * scale;
  const gap = 8;
  const left = 64;
  const top = 22;
  const canvas = document.createElement('canvas');
  canvas.width = left + C * (cellW + gap);
  canvas.height = top + R * (cellH + gap);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#000000';
  ctx.font = `12px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  ctx.textBaseline = 'middle';
  d.settings.cfgScales.forEach((c, j) => ctx.fillText(`CFG ${c}`, left + j * (cellW + gap), top / 2));
  d.rows.forEach((row, r) => ctx.fillText(row, 4, top + r * (cellH + gap) + cellH / 2));
  ctx.imageSmoothingEnabled = false;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const base = ((iv * R + r) * C + c) * n;
      for (let i = 0; i < n; i++) {
        const x = left + c * (cellW + gap) + (i % perRow) * S * scale;
        const y = top + r * (cellH + gap) + Math.floor(i / perRow) * S * scale;
        ctx.drawImage(imageCanvas(cells, base + i, S, S, ''), x, y, S * scale, S * scale);
      }
    }
  }
  return canvas.toDataURL('image/png');
}

window.addEventListener('message', (event: MessageEvent<ToGrid>) => {
  const m = event.data;
  if (m.type === 'scores' || m.type === 'scoring') {
    scores = m.type === 'scores' ? m.scores : scores;
    scoring = m.type === 'scoring' ? m.message : '';
    render();
  } else if (m.type === 'grid') {
    data = m.data;
    scores = undefined;
    scoring = '';
    form.show(m.data.settings);
    content.hidden = false;
    status.hidden = true;
    render();
  } else {
    status.hidden = false;
    status.textContent = m.message;
    status.className = m.type === 'error' ? 'status error' : 'status';
  }
});
if (state.settings) form.show(state.settings);
api.post({ type: 'ready', settings: state.settings });
