// The tensor inspector page: the module tree of a checkpoint with totals, and for the chosen tensor its numbers,
// histogram, a heatmap of a 2-D slice (sliders for the other axes) and, for the patch embedding, its filters as
// image tiles; plus comparisons (||dW|| / ||W|| per tensor, sortable, with overlaid histograms). Every number
// arrives from the engine; names from the file are put in the page as text only.
import './style.css';
import { clear, cssVar, el, onThemeChange } from '../shared/dom';
import type { ComparePair, CompareView, FromInspector, InspectorFile, InspectorModule, InspectorState, TensorDetail, ToInspector } from '../../src/wire/inspectorMessages';
import { packView } from '../../src/wire/tensorPack';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<InspectorState, FromInspector>();
const state: InspectorState = api.getState() ?? { expanded: [], filter: '' };
const app = document.getElementById('app')!;

let file: InspectorFile | undefined;
let tensor: TensorDetail | undefined;
let compare: CompareView | undefined;
let compareSort: { key: keyof ComparePair; desc: boolean } = { key: 'relChange', desc: true };
let comparePick: string | undefined;

const header = el('header');
const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
const treeBox = el('nav', { class: 'tree', 'aria-label': 'Tensors by module' });
const detail = el('section', { class: 'detail', 'aria-label': 'Selected tensor' });
const compareBox = el('section', { class: 'compare', 'aria-label': 'Comparison', hidden: true });
const layout = el('div', { class: 'layout' }, treeBox, detail);
app.append(header, status, layout, compareBox);

function save(): void {
  api.setState(state);
}

// ---- number formatting (display only)
const fmt = (x: number) => (Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? (x > 0 ? '∞' : '-∞') : x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4));
const count = (n: number) => n.toLocaleString('en-US');
function bytes(n: number): string {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}
const shapeText = (s: number[]) => `[${s.join(', ')}]`;

// ---- header
function renderHeader(): void {
  clear(header);
  if (!file) return;
  const f = file;
  const actions = el('div', { class: 'actions' });
  for (const ema of f.emaCopies) {
    const b = el('button', { type: 'button', text: `Compare ${ema.toUpperCase()} with online` });
    b.addEventListener('click', () => api.post({ type: 'compareEma', ema }));
    actions.append(b);
  }
  const other = el('button', { type: 'button', class: 'secondary', text: 'Compare with another checkpoint…' });
  other.addEventListener('click', () => api.post({ type: 'compareFile' }));
  actions.append(other);
  const meta = el('details', { class: 'metadata' }, el('summary', { text: `Metadata (${f.metadata.length})` }));
  const dl = el('dl');
  for (const [k, v] of f.metadata) dl.append(el('dt', { text: k }), el('dd', {}, el('pre', { text: v.length > 4000 ? `${v.slice(0, 4000)}…` : v })));
  meta.append(dl);
  header.append(
    el('div', {}, el('h1', { text: f.fileName }),
      el('p', { class: 'meta', text: `${f.format === 'pytorch' ? 'PyTorch checkpoint' : 'safetensors'} · ${bytes(f.fileBytes)} · ${count(f.tensors.length)} tensors · ${count(f.totalParams)} parameters (${bytes(f.totalBytes)})` })),
    actions,
  );
  if (f.metadata.length) header.append(meta);
  for (const w of f.warnings) header.append(el('p', { class: 'warning', role: 'alert', text: w }));
}

// ---- module tree
function matches(m: InspectorModule, q: string): boolean {
  if (!q) return true;
  return m.tensors.some((i) => file!.tensors[i].name.toLowerCase().includes(q)) || m.children.some((c) => matches(c, q));
}

function renderTree(): void {
  clear(treeBox);
  if (!file) return;
  const filter = el('input', { type: 'search', placeholder: 'Filter tensors', 'aria-label': 'Filter tensors', value: state.filter });
  filter.addEventListener('input', () => {
    state.filter = filter.value;
    save();
    renderTreeBody(body);
  });
  const body = el('div', { class: 'tree-body', role: 'tree' });
  treeBox.append(filter, body);
  renderTreeBody(body);
}

function renderTreeBody(body: HTMLElement): void {
  clear(body);
  const q = state.filter.trim().toLowerCase();
  const f = file!;
  const addTensors = (parent: HTMLElement, m: InspectorModule) => {
    for (const i of m.tensors) {
      const t = f.tensors[i];
      if (q && !t.name.toLowerCase().includes(q)) continue;
      const leaf = t.name.slice(m.path ? m.path.length + 1 : 0);
      const b = el('button', { type: 'button', class: 'tensor', role: 'treeitem', 'aria-selected': String(state.selected === t.name), title: t.name, 'data-name': t.name },
        el('span', { class: 'name', text: leaf }),
        el('span', { class: 'shape', text: `${shapeText(t.shape)} ${t.dtype}` }),
        el('span', { class: 'count', text: count(t.numel) }));
      b.addEventListener('click', () => select(t.name));
      parent.append(b);
    }
  };
  const addModule = (parent: HTMLElement, m: InspectorModule, depth: number) => {
    if (!matches(m, q)) return;
    // Blocks and everything below the top levels start collapsed; a filter opens what matches.
    const open = q !== '' || state.expanded.includes(m.path) || (depth < 1 && m.name !== 'blocks');
    const d = el('details', { class: 'module', open });
    const summary = el('summary', {}, el('span', { class: 'name', text: m.name }), el('span', { class: 'count', text: `${count(m.params)} · ${bytes(m.bytes)}` }));
    d.append(summary);
    d.addEventListener('toggle', () => {
      if (q) return;
      const has = state.expanded.includes(m.path);
      if (d.open && !has) state.expanded.push(m.path);
      if (!d.open && has) state.expanded = state.expanded.filter((p) => p !== m.path);
      save();
    });
    const inner = el('div', { class: 'children', role: 'group' });
    d.append(inner);
    for (const c of m.children) addModule(inner, c, depth + 1);
    addTensors(inner, m);
    parent.append(d);
  };
  for (const c of f.tree.children) addModule(body, c, 0);
  addTensors(body, f.tree);
  if (!body.firstChild) body.append(el('p', { class: 'muted', text: q ? 'No tensor matches the filter.' : 'This file holds no tensors.' }));
}

function select(name: string, axes?: { rowAxis: number; colAxis: number; index: number[] }): void {
  state.selected = name;
  save();
  for (const b of treeBox.querySelectorAll<HTMLElement>('button.tensor')) b.setAttribute('aria-selected', String(b.dataset.name === name));
  status.textContent = `Reading ${name}…`;
  api.post({ type: 'tensor', name, ...axes });
}

// ---- canvases
function canvas(w: number, h: number, label: string): HTMLCanvasElement {
  const c = el('canvas', { role: 'img', 'aria-label': label });
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.maxWidth = '100%';
  c.getContext('2d')!.scale(dpr, dpr);
  return c;
}

function drawHistogram(series: { counts: ArrayLike<number>; color: string }[], lo: number, hi: number, label: string): HTMLElement {
  const W = 360;
  const H = 140;
  const c = canvas(W, H, label);
  const g = c.getContext('2d')!;
  const bins = series[0].counts.length;
  let max = 0;
  for (const s of series) for (let i = 0; i < bins; i++) max = Math.max(max, s.counts[i]);
  const plotH = H - 18;
  for (const [k, s] of series.entries()) {
    g.fillStyle = s.color;
    g.globalAlpha = series.length > 1 ? 0.55 : 0.9;
    for (let i = 0; i < bins; i++) {
      const h = max ? (s.counts[i] / max) * (plotH - 4) : 0;
      const x = (i / bins) * W;
      g.fillRect(x + (k ? 0 : 0.5), plotH - h, Math.max(1, W / bins - 1), h);
    }
  }
  g.globalAlpha = 1;
  g.fillStyle = cssVar('--vscode-descriptionForeground', '#888');
  g.font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  g.textBaseline = 'bottom';
  g.textAlign = 'left';
  g.fillText(fmt(lo), 0, H);
  g.textAlign = 'right';
  g.fillText(fmt(hi), W, H);
  g.strokeStyle = cssVar('--vscode-widget-border', cssVar('--vscode-panel-border', '#8884'));
  g.beginPath();
  g.moveTo(0, plotH + 0.5);
  g.lineTo(W, plotH + 0.5);
  g.stroke();
  return c;
}

/** Diverging colour map around 0 (blue for negative, red for positive); NaN/Inf in the theme's warning colour. */
function drawHeatmap(values: ArrayLike<number>, rows: number, cols: number): HTMLCanvasElement {
  const img = new ImageData(cols, rows);
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) m = Math.max(m, Math.abs(values[i]));
  for (let i = 0; i < rows * cols; i++) {
    const v = values[i];
    const o = i * 4;
    if (!Number.isFinite(v)) {
      img.data.set([255, 200, 0, 255], o);
      continue;
    }
    const a = m ? v / m : 0;
    const t = Math.min(1, Math.abs(a));
    const [r, gr, b] = a >= 0 ? [255, 255 * (1 - t), 255 * (1 - t)] : [255 * (1 - t), 255 * (1 - t), 255];
    img.data.set([r, gr, b, 255], o);
  }
  const src = document.createElement('canvas');
  src.width = cols;
  src.height = rows;
  src.getContext('2d')!.putImageData(img, 0, 0);
  const scale = Math.max(1, Math.min(40, Math.floor(480 / Math.max(rows, cols))));
  const out = el('canvas', { class: 'heatmap', role: 'img', 'aria-label': `Heatmap of a ${rows} x ${cols} slice, blue negative, red positive, scaled to ±${fmt(m)}` });
  out.width = cols * scale;
  out.height = rows * scale;
  const g = out.getContext('2d')!;
  g.imageSmoothingEnabled = false;
  g.drawImage(src, 0, 0, out.width, out.height);
  return out;
}

function drawFilters(pixels: ArrayLike<number>, n: number, p: number, channels: number): HTMLElement {
  const wrap = el('div', { class: 'filters', role: 'list', 'aria-label': `${n} patch-embedding filters` });
  const scale = Math.max(2, Math.floor(48 / p));
  const per = p * p * channels;
  for (let f = 0; f < n; f++) {
    const img = new ImageData(p, p);
    for (let i = 0; i < p * p; i++) {
      for (let c = 0; c < 3; c++) img.data[i * 4 + c] = Math.round(255 * pixels[f * per + i * channels + (channels === 3 ? c : 0)]);
      img.data[i * 4 + 3] = 255;
    }
    const src = document.createElement('canvas');
    src.width = p;
    src.height = p;
    src.getContext('2d')!.putImageData(img, 0, 0);
    const tile = el('canvas', { class: 'tile', role: 'listitem', title: `filter ${f}` });
    tile.width = p * scale;
    tile.height = p * scale;
    const g = tile.getContext('2d')!;
    g.imageSmoothingEnabled = false;
    g.drawImage(src, 0, 0, tile.width, tile.height);
    wrap.append(tile);
  }
  return wrap;
}

// ---- tensor detail
function renderDetail(): void {
  clear(detail);
  if (!tensor) {
    detail.append(el('p', { class: 'muted', text: file ? 'Choose a tensor in the tree to see its numbers.' : '' }));
    return;
  }
  const t = tensor;
  const entry = file?.tensors.find((x) => x.name === t.name);
  detail.append(el('h2', { text: t.name }), el('p', { class: 'meta', text: `${shapeText(t.shape)} · ${entry?.dtype ?? ''} · ${count(entry?.numel ?? 0)} values` }));
  const rows: [string, string][] = [
    ['mean', fmt(t.mean)], ['std', fmt(t.std)], ['min', fmt(t.min)], ['max', fmt(t.max)], ['L2 norm', fmt(t.l2)],
    ['NaN', count(t.nan)], ['Inf', count(t.inf)],
  ];
  const table = el('table', { class: 'stats' });
  for (const [k, v] of rows) table.append(el('tr', { class: k === 'NaN' || k === 'Inf' ? (v !== '0' ? 'bad' : '') : '' }, el('th', { text: k, scope: 'row' }), el('td', { text: v })));
  const hist = packView(t.pack, 'histogram');
  const figs = el('div', { class: 'figures' }, el('figure', {}, table));
  if (hist) figs.append(el('figure', {}, drawHistogram([{ counts: hist.data, color: cssVar('--vscode-charts-blue', '#3794ff') }], t.histLo, t.histHi, `Histogram of ${t.name}`), el('figcaption', { text: 'Histogram of the finite values' })));
  detail.append(figs);

  const slice = packView(t.pack, 'slice');
  if (slice) {
    const fig = el('figure', { class: 'slice' });
    if (t.shape.length > 2) fig.append(sliceControls(t));
    fig.append(drawHeatmap(slice.data, t.sliceRows, t.sliceCols));
    fig.append(el('figcaption', { text: t.shape.length >= 2 ? `Axes ${t.rowAxis} (rows, ${t.shape[t.rowAxis]}) × ${t.colAxis} (columns, ${t.shape[t.colAxis]}); blue < 0 < red` : 'Values as one row; blue < 0 < red' }));
    detail.append(el('h3', { text: 'Heatmap' }), fig);
  }
  const filters = t.filters && packView(t.pack, 'filters');
  if (t.filters && filters) {
    detail.append(el('h3', { text: `Patch-embedding filters (${t.filters.count} of ${t.filters.size}×${t.filters.size}×${t.filters.channels})` }),
      el('p', { class: 'muted', text: 'Each filter scaled on its own; grey is zero.' }), drawFilters(filters.data, t.filters.count, t.filters.size, t.filters.channels));
  }
}

function sliceControls(t: TensorDetail): HTMLElement {
  const box = el('div', { class: 'slice-controls' });
  const axisSelect = (label: string, value: number, onChange: (v: number) => void) => {
    const s = el('select', { 'aria-label': label });
    t.shape.forEach((n, a) => s.append(el('option', { value: a, text: `axis ${a} (${n})`, selected: a === value })));
    s.addEventListener('change', () => onChange(Number(s.value)));
    return el('label', {}, `${label} `, s);
  };
  const request = (rowAxis: number, colAxis: number, index: number[]) => {
    if (rowAxis === colAxis) return;
    select(t.name, { rowAxis, colAxis, index });
  };
  box.append(
    axisSelect('Rows', t.rowAxis, (v) => request(v, v === t.colAxis ? t.rowAxis : t.colAxis, t.index)),
    axisSelect('Columns', t.colAxis, (v) => request(v === t.rowAxis ? t.colAxis : t.rowAxis, v, t.index)),
  );
  t.shape.forEach((n, a) => {
    if (a === t.rowAxis || a === t.colAxis) return;
    const out = el('output', { text: `${t.index[a]} / ${n - 1}` });
    const r = el('input', { type: 'range', min: 0, max: n - 1, step: 1, value: t.index[a], 'aria-label': `Index along axis ${a}` });
    r.addEventListener('input', () => (out.textContent = `${r.value} / ${n - 1}`));
    r.addEventListener('change', () => {
      const index = [...t.index];
      index[a] = Number(r.value);
      request(t.rowAxis, t.colAxis, index);
    });
    box.append(el('label', { class: 'axis' }, `axis ${a} `, r, out));
  });
  return box;
}

// ---- comparison
function renderCompare(): void {
  clear(compareBox);
  compareBox.hidden = !compare;
  if (!compare) return;
  const c = compare;
  compareBox.append(el('h2', { text: `${c.other} against ${c.reference}` }),
    el('p', { class: 'meta', text: `${count(c.pairs.length)} tensors compared; relative change ||dW|| / ||W|| with W from ${c.reference}. Click a row for overlaid histograms, a column title to sort.` }));
  const notes: string[] = [];
  if (c.onlyInReference.length) notes.push(`${c.onlyInReference.length} tensors only in ${c.reference}`);
  if (c.onlyInOther.length) notes.push(`${c.onlyInOther.length} only in ${c.other}`);
  if (c.shapeMismatches.length) notes.push(`${c.shapeMismatches.length} with different shapes (first: ${c.shapeMismatches[0].name})`);
  if (notes.length) compareBox.append(el('p', { class: 'muted', text: `${notes.join('; ')}.` }));
  const overlay = el('div', { class: 'overlay' });
  const cols: [keyof ComparePair, string][] = [['name', 'Tensor'], ['relChange', '||dW|| / ||W||'], ['diffNorm', '||dW||'], ['norm', '||W||'], ['maxAbsDiff', 'max |dW|']];
  const table = el('table', { class: 'compare-table' });
  const head = el('tr');
  for (const [key, label] of cols) {
    const sorted = compareSort.key === key;
    const b = el('button', { type: 'button', class: 'sort', text: `${label}${sorted ? (compareSort.desc ? ' ▼' : ' ▲') : ''}` });
    b.addEventListener('click', () => {
      compareSort = { key, desc: sorted ? !compareSort.desc : key !== 'name' };
      renderCompare();
    });
    head.append(el('th', { scope: 'col', 'aria-sort': sorted ? (compareSort.desc ? 'descending' : 'ascending') : undefined }, b));
  }
  table.append(el('thead', {}, head));
  const index = new Map(c.pairs.map((p, i) => [p.name, i]));
  const pairs = [...c.pairs].sort((a, b) => {
    const x = a[compareSort.key];
    const y = b[compareSort.key];
    const r = typeof x === 'string' ? x.localeCompare(String(y)) : (x as number) - (y as number);
    return compareSort.desc ? -r : r;
  });
  const maxRel = Math.max(1e-30, ...c.pairs.map((p) => (Number.isFinite(p.relChange) ? p.relChange : 0)));
  const body = el('tbody');
  for (const p of pairs) {
    const bar = el('span', { class: 'bar' });
    bar.style.width = `${Math.min(100, (Number.isFinite(p.relChange) ? p.relChange / maxRel : 1) * 100)}%`;
    const tr = el('tr', { tabindex: 0, 'aria-selected': String(comparePick === p.name) },
      el('td', { class: 'name', text: p.name, title: p.name === p.other ? p.name : `${p.name} vs ${p.other}` }),
      el('td', { class: 'num' }, el('span', { class: 'relbar' }, bar), fmt(p.relChange)),
      el('td', { class: 'num', text: fmt(p.diffNorm) }), el('td', { class: 'num', text: fmt(p.norm) }), el('td', { class: 'num', text: fmt(p.maxAbsDiff) }));
    const pick = () => {
      comparePick = p.name;
      for (const r of body.querySelectorAll('tr')) r.setAttribute('aria-selected', String(r === tr));
      showOverlay(overlay, c, p, index.get(p.name)!);
    };
    tr.addEventListener('click', pick);
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && pick());
    body.append(tr);
  }
  table.append(body);
  compareBox.append(overlay, el('div', { class: 'table-wrap' }, table));
  const first = pairs.find((p) => p.name === comparePick) ?? pairs[0];
  if (first) showOverlay(overlay, c, first, index.get(first.name)!);
}

function showOverlay(box: HTMLElement, c: CompareView, p: ComparePair, i: number): void {
  clear(box);
  const counts = packView(c.pack, 'counts');
  const other = packView(c.pack, 'otherCounts');
  if (!counts || !other) return;
  const bins = counts.shape[1];
  const a = cssVar('--vscode-charts-blue', '#3794ff');
  const b = cssVar('--vscode-charts-orange', '#d18616');
  box.append(el('figure', {},
    drawHistogram([{ counts: counts.data.subarray(i * bins, (i + 1) * bins), color: a }, { counts: other.data.subarray(i * bins, (i + 1) * bins), color: b }], p.histLo, p.histHi, `Overlaid histograms of ${p.name}`),
    el('figcaption', {}, el('span', { class: 'swatch a' }), `${c.reference}  `, el('span', { class: 'swatch b' }), `${c.other} · ${p.name}`)));
}

function renderAll(): void {
  renderHeader();
  renderTree();
  renderDetail();
  renderCompare();
}

window.addEventListener('message', (e: MessageEvent<ToInspector>) => {
  const m = e.data;
  switch (m.type) {
    case 'file':
      file = m.file;
      status.textContent = '';
      layout.hidden = false;
      renderAll();
      if (state.selected && file.tensors.some((t) => t.name === state.selected)) select(state.selected);
      return;
    case 'tensor':
      tensor = m.tensor;
      status.textContent = '';
      renderDetail();
      return;
    case 'compare':
      compare = m.compare;
      comparePick = undefined;
      status.textContent = '';
      renderCompare();
      compareBox.scrollIntoView({ block: 'start' });
      return;
    case 'busy':
      status.textContent = m.message;
      status.classList.remove('error');
      return;
    case 'error':
      status.textContent = m.message;
      status.classList.add('error');
      if (m.fatal) {
        file = undefined;
        layout.hidden = true;
        renderAll();
      }
      return;
  }
});
onThemeChange(renderAll);
status.textContent = 'Opening…';
api.post({ type: 'ready' });
