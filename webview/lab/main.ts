// The Manifold Lab page: the paper's toy experiment (2-D data embedded in D dimensions; x-, eps- and
// v-prediction). A form picks the data, dimensions, targets and steps; the engine trains while progress streams;
// then a D x target grid draws the generated points, projected back to 2-D, over the true data with their
// sampling trajectories, and the distance of each cell. Every number comes from the engine.
import './style.css';
import { clear, cssVar, el, onThemeChange } from '../shared/dom';
import { FromLab, LAB_DATA, LabData, LabProgress, LabRequest, LabResultView, LabState, LabTarget, ToLab } from '../../src/wire/labMessages';
import { packView } from '../../src/wire/tensorPack';
import { viewApi } from '../shared/vscodeApi';

const TARGETS: LabTarget[] = ['x', 'eps', 'v'];
const api = viewApi<LabState, FromLab>();
const state: LabState = api.getState() ?? { request: { data: 'spiral', dims: [2, 8, 16, 512], targets: ['x', 'eps', 'v'], steps: 600, seed: 0 } };
const app = document.getElementById('app')!;

let running = false;
let result: LabResultView | undefined;
/** Distances of finished cells while the run is in flight, keyed "dim:target". */
const live = new Map<string, number>();

// ---- form
const dataSel = el('select', { id: 'lab-data' });
for (const d of LAB_DATA) dataSel.append(el('option', { value: d, text: { spiral: 'Spiral', moons: 'Two moons', gmm: 'Gaussian mixture' }[d], selected: d === state.request.data }));
const dimsIn = el('input', { id: 'lab-dims', type: 'text', value: state.request.dims.join(', '), inputmode: 'numeric', 'aria-describedby': 'lab-dims-help' });
const stepsIn = el('input', { id: 'lab-steps', type: 'number', min: 1, max: 100000, step: 1, value: state.request.steps });
const seedIn = el('input', { id: 'lab-seed', type: 'number', step: 1, value: state.request.seed });
const targetBoxes = TARGETS.map((t) => el('input', { type: 'checkbox', id: `lab-target-${t}`, value: t, checked: state.request.targets.includes(t) }));
// A plain button, not a submit: webviews run without forms (enableForms: false), so a form never submits.
const runBtn = el('button', { type: 'button', text: 'Run' });
const cancelBtn = el('button', { type: 'button', class: 'secondary', text: 'Cancel', hidden: true });
const formError = el('p', { class: 'error', role: 'alert' });
const form = el('form', { class: 'controls', novalidate: true },
  el('label', { for: 'lab-data' }, 'Distribution'), dataSel,
  el('label', { for: 'lab-dims' }, 'Dimensions D'), el('div', {}, dimsIn, el('div', { id: 'lab-dims-help', class: 'muted', text: 'Comma-separated, 2 to 4096' })),
  el('span', { class: 'label', id: 'lab-targets-label', text: 'Targets' }),
  el('div', { class: 'targets', role: 'group', 'aria-labelledby': 'lab-targets-label' }, ...TARGETS.map((t, i) => el('label', {}, targetBoxes[i], ` ${t}-prediction`))),
  el('label', { for: 'lab-steps' }, 'Training steps'), stepsIn,
  el('label', { for: 'lab-seed' }, 'Seed'), seedIn,
  el('div', { class: 'buttons' }, runBtn, cancelBtn),
);
const progressBar = el('progress', { max: 1, value: 0, 'aria-label': 'Progress' });
const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
const grid = el('section', { class: 'grid', 'aria-label': 'Samples per dimension and target' });
const summary = el('p', { class: 'muted summary' });
app.append(
  el('header', {}, el('h1', { text: 'Manifold Lab' }),
    el('p', { class: 'muted', text: 'x-, eps- and v-prediction on 2-D data embedded in D dimensions (JiT, sec. 3.3). Each cell trains a 5-layer ReLU MLP with the v-loss and samples it with the image model\u2019s Heun sampler; the number is the sliced Wasserstein-1 distance to the true data (lower is better).' })),
  form, formError, el('div', { class: 'progress' }, progressBar, status), summary, grid,
);

function readForm(): LabRequest | string {
  const dims = dimsIn.value.split(/[\s,]+/).filter(Boolean).map(Number);
  if (!dims.length || dims.some((d) => !Number.isInteger(d) || d < 2 || d > 4096)) return 'Dimensions must be whole numbers from 2 to 4096, separated by commas.';
  if (new Set(dims).size !== dims.length) return 'List each dimension once.';
  const targets = TARGETS.filter((_, i) => targetBoxes[i].checked);
  if (!targets.length) return 'Choose at least one prediction target.';
  const steps = Number(stepsIn.value);
  if (!Number.isInteger(steps) || steps < 1 || steps > 100000) return 'Training steps must be a whole number from 1 to 100000.';
  const seed = Number(seedIn.value);
  if (!Number.isInteger(seed)) return 'The seed must be a whole number.';
  return { data: dataSel.value as LabData, dims, targets, steps, seed };
}

function start(): void {
  if (running) return;
  const r = readForm();
  if (typeof r === 'string') {
    formError.textContent = r;
    return;
  }
  formError.textContent = '';
  state.request = r;
  api.setState(state);
  api.post({ type: 'run', request: r });
}
runBtn.addEventListener('click', start);
form.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && e.target instanceof HTMLInputElement && e.target.type !== 'checkbox') {
    e.preventDefault();
    start();
  }
});
cancelBtn.addEventListener('click', () => api.post({ type: 'cancel' }));

function setRunning(on: boolean): void {
  running = on;
  runBtn.disabled = on;
  cancelBtn.hidden = !on;
  for (const i of [dataSel, dimsIn, stepsIn, seedIn, ...targetBoxes]) i.disabled = on;
}

// ---- drawing
const SIZE = 200;

function colors() {
  return {
    truth: cssVar('--vscode-descriptionForeground', '#888'),
    sample: cssVar('--vscode-charts-blue', '#3794ff'),
    path: cssVar('--vscode-charts-orange', '#d18616'),
    border: cssVar('--vscode-widget-border', cssVar('--vscode-panel-border', '#8884')),
  };
}

function drawCell(truth: Float32Array, samples: Float32Array | undefined, paths: { data: Float32Array; k: number; len: number } | undefined, label: string): HTMLCanvasElement {
  const c = el('canvas', { role: 'img', 'aria-label': label });
  const dpr = window.devicePixelRatio || 1;
  c.width = SIZE * dpr;
  c.height = SIZE * dpr;
  const g = c.getContext('2d')!;
  g.scale(dpr, dpr);
  // One frame for every cell: the true data's extent, padded; points outside are clamped to the edge.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < truth.length; i++) {
    lo = Math.min(lo, truth[i]);
    hi = Math.max(hi, truth[i]);
  }
  const pad = (hi - lo) * 0.25 || 1;
  lo -= pad;
  hi += pad;
  const px = (v: number) => Math.max(1, Math.min(SIZE - 1, ((v - lo) / (hi - lo)) * SIZE));
  const py = (v: number) => Math.max(1, Math.min(SIZE - 1, SIZE - ((v - lo) / (hi - lo)) * SIZE));
  const col = colors();
  g.fillStyle = col.truth;
  g.globalAlpha = 0.35;
  for (let i = 0; i < truth.length; i += 2) g.fillRect(px(truth[i]) - 1, py(truth[i + 1]) - 1, 2, 2);
  g.globalAlpha = 1;
  if (paths) {
    g.strokeStyle = col.path;
    g.lineWidth = 1.2;
    for (let k = 0; k < paths.k; k++) {
      g.beginPath();
      for (let s = 0; s < paths.len; s++) {
        const o = (k * paths.len + s) * 2;
        if (s === 0) g.moveTo(px(paths.data[o]), py(paths.data[o + 1]));
        else g.lineTo(px(paths.data[o]), py(paths.data[o + 1]));
      }
      g.stroke();
    }
  }
  if (samples) {
    g.fillStyle = col.sample;
    for (let i = 0; i < samples.length; i += 2) g.fillRect(px(samples[i]) - 1.5, py(samples[i + 1]) - 1.5, 3, 3);
  }
  g.strokeStyle = col.border;
  g.strokeRect(0.5, 0.5, SIZE - 1, SIZE - 1);
  return c;
}

function renderGrid(): void {
  clear(grid);
  const req = result?.request ?? state.request;
  if (!result && !running && live.size === 0) {
    grid.append(el('p', { class: 'muted', text: 'Choose the settings and press Run: the grid of D × target appears here when training has finished.' }));
    return;
  }
  const truth = result ? (packView(result.pack, 'truth')?.data as Float32Array | undefined) : undefined;
  const table = el('div', { class: 'cells', role: 'table' });
  table.style.gridTemplateColumns = `auto repeat(${req.targets.length}, minmax(0, ${SIZE}px))`;
  table.append(el('div', { role: 'columnheader' }), ...req.targets.map((t) => el('div', { class: 'colhead', role: 'columnheader', text: `${t}-prediction` })));
  req.dims.forEach((dim) => {
    table.append(el('div', { class: 'rowhead', role: 'rowheader', text: `D = ${dim}` }));
    req.targets.forEach((target) => {
      const i = result ? result.cells.findIndex((c) => c.dim === dim && c.target === target) : -1;
      const cell = el('figure', { class: 'cell', role: 'cell' });
      const dist = i >= 0 ? result!.cells[i].distance : live.get(`${dim}:${target}`);
      if (i >= 0 && truth) {
        const s = packView(result!.pack, `samples${i}`)?.data as Float32Array | undefined;
        const tr = packView(result!.pack, `trajectories${i}`);
        const paths = tr && tr.shape[0] > 0 ? { data: tr.data as Float32Array, k: tr.shape[0], len: tr.shape[1] } : undefined;
        cell.append(drawCell(truth, s, paths, `D = ${dim}, ${target}-prediction: distance ${dist?.toFixed(3)}`));
      } else {
        cell.append(el('div', { class: 'placeholder', text: dist === undefined ? 'waiting' : 'trained' }));
      }
      const ref = result?.referenceDistance;
      const quality = dist === undefined || ref === undefined ? '' : dist < 2 * ref + 0.05 ? 'good' : dist < 4 * ref + 0.15 ? 'fair' : 'bad';
      cell.append(el('figcaption', { class: `distance ${quality}`, text: dist === undefined ? '' : `W1 = ${dist.toFixed(3)}` }));
      table.append(cell);
    });
  });
  grid.append(table);
  if (result) {
    const col = colors();
    grid.append(el('p', { class: 'legend' },
      el('span', { class: 'dot' }), ' true data  ', el('span', { class: 'dot sample' }), ' generated  ', el('span', { class: 'line' }), ' sampling paths'));
    grid.querySelector<HTMLElement>('.dot')!.style.background = col.truth;
    grid.querySelector<HTMLElement>('.dot.sample')!.style.background = col.sample;
    grid.querySelector<HTMLElement>('.line')!.style.background = col.path;
  }
}

function describe(p: LabProgress): string {
  const where = `cell ${p.cell + 1} of ${p.cells} (D = ${p.dim}, ${p.target}-prediction)`;
  if (p.type === 'train') return `Training ${where}: step ${p.step} of ${p.steps}, loss ${p.loss.toPrecision(3)}`;
  if (p.type === 'sampling') return `Sampling ${where}`;
  return `Finished ${where}: W1 = ${p.distance.toFixed(3)}`;
}

window.addEventListener('message', (e: MessageEvent<ToLab>) => {
  const m = e.data;
  switch (m.type) {
    case 'started':
      setRunning(true);
      result = undefined;
      live.clear();
      progressBar.value = 0;
      status.textContent = 'Starting the engine…';
      summary.textContent = '';
      renderGrid();
      return;
    case 'progress': {
      const p = m.progress;
      const within = p.type === 'train' ? (p.step / p.steps) * 0.9 : p.type === 'sampling' ? 0.9 : 1;
      progressBar.value = (p.cell + within) / p.cells;
      status.textContent = describe(p);
      if (p.type === 'cell') {
        live.set(`${p.dim}:${p.target}`, p.distance);
        renderGrid();
      }
      return;
    }
    case 'result': {
      setRunning(false);
      result = m.result;
      progressBar.value = 1;
      const secs = result.cells.reduce((a, c) => a + c.trainSeconds + c.sampleSeconds, 0);
      status.textContent = `Done: ${result.cells.length} models in ${secs.toFixed(1)} s.`;
      summary.textContent = `Reference: two independent sets of true points are W1 = ${result.referenceDistance.toFixed(3)} apart; a perfect model scores about that.`;
      renderGrid();
      return;
    }
    case 'stopped':
      setRunning(false);
      status.textContent = m.message;
      return;
    case 'error':
      setRunning(false);
      status.textContent = '';
      formError.textContent = m.message;
      return;
  }
});
onThemeChange(renderGrid);
renderGrid();
api.post({ type: 'ready' });
