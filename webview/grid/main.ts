// The CFG x EMA grid: rows are the EMA copies and the online weights, columns the guidance scales, every cell the
// same seeds; a switch between guidance in the interval and guidance at every step.
import './style.css';
import { clear, el } from '../shared/dom';
import { imageCanvas } from '../shared/pixels';
import { FromGrid, GridData, GridState, ToGrid, packed } from '../shared/viewsProtocol';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<GridState, FromGrid>();
const state: GridState = api.getState() ?? {};
const app = document.getElementById('app')!;
const status = el('p', { class: 'status', role: 'status', text: 'Sampling the grid in the engine…' });
const content = el('div', { hidden: true });
app.append(status, content);
let data: GridData | undefined;

function render(): void {
  if (!data) return;
  const d = data;
  const iv = Math.min(state.interval ?? 0, d.intervals.length - 1);
  const cells = packed(d.pack, 'cells', 'uint8').data;
  const R = d.rows.length;
  const C = d.cfgScales.length;
  const S = d.imageSize;
  const toggle = el('select', { 'aria-label': 'guidance interval' }, ...d.intervals.map((t, i) => el('option', { value: i, text: t })));
  toggle.value = String(iv);
  toggle.addEventListener('change', () => {
    state.interval = Number(toggle.value);
    api.setState(state);
    render();
  });
  const table = el('div', { class: 'gridtable', style: `grid-template-columns: auto repeat(${C}, minmax(64px, 1fr))` });
  table.append(el('span', {}), ...d.cfgScales.map((c) => el('span', { class: 'head', text: `CFG ${c}` })));
  for (let r = 0; r < R; r++) {
    table.append(el('span', { class: 'head', text: d.rows[r] }));
    for (let c = 0; c < C; c++) {
      const cell = el('div', { class: 'cell', title: `${d.rows[r]}, CFG ${d.cfgScales[c]}, ${d.intervals[iv]}` });
      const base = ((iv * R + r) * C + c) * d.n;
      for (let i = 0; i < d.n; i++) cell.append(imageCanvas(cells, base + i, S, S, `${d.rows[r]} CFG ${d.cfgScales[c]} image ${i + 1} (${d.labels[i]})`));
      table.append(cell);
    }
  }
  clear(content);
  content.append(el('h1', { text: d.title }), el('p', { class: 'muted', text: d.settings }), el('div', { class: 'row' }, toggle),
    el('p', { class: 'muted', text: `classes per cell: ${d.labels.join(', ')}` }), table);
}

window.addEventListener('message', (event: MessageEvent<ToGrid>) => {
  const m = event.data;
  if (m.type === 'grid') {
    data = m.data;
    content.hidden = false;
    status.hidden = true;
    render();
  } else {
    status.hidden = false;
    status.textContent = m.message;
    status.className = m.type === 'error' ? 'status error' : 'status';
  }
});
api.post({ type: 'ready' });
