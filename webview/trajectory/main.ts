// The Heun trajectory viewer: for one recorded image of a sample grid, z_t and the predicted clean image at every
// step (filmstrip and scrubber with play/pause), |v|, Heun's correction and t per step with guidance shaded, the
// 2-D PCA paths of all recorded images, and on request Euler against Heun from the same noise. The engine computed
// every number and byte; this page draws them.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import uPlot from 'uplot';
import { unpackTensor } from '../../src/wire/tensorPack';
import { clear, el, onThemeChange } from '../shared/dom';
import { drawInto, figure, imageCanvas } from '../shared/pixels';
import { chartTheme, drawScatter, rampColor, stepChart, withAlpha } from '../shared/plots';
import { ComparisonData, FromTrajectory, ToTrajectory, TrajectoryData, TrajectoryState } from '../../src/wire/explorerMessages';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<TrajectoryState, FromTrajectory>();
const state: TrajectoryState = api.getState() ?? {};
const app = document.getElementById('app')!;
const status = el('p', { class: 'status', role: 'status', text: 'Loading the trajectory…' });
const content = el('div', { hidden: true });
app.append(status, content);

let data: TrajectoryData | undefined;
let comparison: ComparisonData | undefined;
let index = 0;
let frame = 0;
let timer: number | undefined;
let chart: uPlot | undefined;
const bigZ = el('canvas', { class: 'pixels', role: 'img', 'aria-label': 'z_t at the current step' });
const bigX = el('canvas', { class: 'pixels', role: 'img', 'aria-label': 'predicted clean image at the current step' });
const scrub = el('input', { type: 'range', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'step' });
const play = el('button', { type: 'button', text: 'Play' });
const frameLabel = el('span', { class: 'muted' });
const zStrip = el('div', { class: 'strip', 'aria-label': 'z_t at every step' });
const xStrip = el('div', { class: 'strip', 'aria-label': 'predicted clean image at every step' });
const chartHost = el('div', { class: 'chart' });
const pcaCanvas = el('canvas', { class: 'plot', role: 'img', 'aria-label': 'PCA paths of the recorded images' });
const pcaCaption = el('p', { class: 'muted' });
const compareSection = el('section', { class: 'card compare' });

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.className = error ? 'status error' : 'status';
  status.hidden = !text;
}

function S(): number {
  return data!.imageSize;
}

function render(): void {
  if (!data) return;
  const d = data;
  const K = d.labels.length;
  const steps = d.steps.length;
  const z = unpackTensor(d.pack, 'z', 'uint8').data;
  const x = unpackTensor(d.pack, 'xPred', 'uint8').data;
  const s = S();
  clear(content);
  const picks = el('div', { class: 'tiles picks', style: '--tile: 48px' });
  for (let k = 0; k < K; k++) {
    const c = imageCanvas(z, steps * K + k, s, s, `sample ${k + 1}: ${d.labels[k]}`);
    c.tabIndex = 0;
    if (k === index) c.classList.add('current');
    c.addEventListener('click', () => select(k));
    c.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') select(k); });
    picks.append(figure(c, d.labels[k], `Show the trajectory of sample ${k + 1}`));
  }
  clear(zStrip);
  clear(xStrip);
  for (let f = 0; f <= steps; f++) {
    const cz = imageCanvas(z, f * K + index, s, s, `z at step ${f}`);
    cz.title = `z after ${f} steps (t = ${f < steps ? d.steps[f].t.toFixed(3) : '1'})`;
    cz.addEventListener('click', () => show(f));
    zStrip.append(cz);
    if (f < steps) {
      const cx = imageCanvas(x, f * K + index, s, s, `predicted x at step ${f}`);
      cx.title = `predicted clean image at t = ${d.steps[f].t.toFixed(3)}`;
      cx.addEventListener('click', () => show(f));
      xStrip.append(cx);
    }
  }
  bigZ.width = bigX.width = s;
  bigZ.height = bigX.height = s;
  scrub.max = String(steps);
  content.append(
    el('h1', { text: d.title }),
    el('p', { class: 'muted', text: d.settings }),
    el('section', { class: 'card' }, el('h2', { text: `Recorded samples (${K}): pick one` }), picks),
    el('section', { class: 'card' },
      el('h2', { text: `Sample ${index + 1} (${d.labels[index]}): ${steps} steps, ${steps + 1} states` }),
      el('div', { class: 'big' }, figure(bigZ, 'z_t'), figure(bigX, 'predicted clean image')),
      el('div', { class: 'row' }, play, scrub, frameLabel),
      el('p', { class: 'muted', text: 'z_t, from the noise to the sample:' }), zStrip,
      el('p', { class: 'muted', text: 'predicted clean image x̂(z_t, t) at each step:' }), xStrip),
    el('section', { class: 'card' }, el('h2', { text: 'Per step: |v|, Heun correction |v(t_next) − v(t)|, t (shaded: guidance active)' }), chartHost),
    el('div', { class: 'columns' },
      el('section', { class: 'card' }, el('h2', { text: 'PCA of the paths of all recorded samples' }), pcaCanvas, pcaCaption),
      compareSection),
  );
  drawChart();
  drawCompare();
  show(Math.min(frame, steps));
}

function drawChart(): void {
  if (!data) return;
  chart?.destroy();
  clear(chartHost);
  const st = data.steps;
  const x = st.map((s) => s.step);
  chart = stepChart(chartHost, chartTheme(), x, [
    { label: '|v| (RMS)', values: st.map((s) => s.vRms[index]) },
    { label: 'Heun correction (RMS)', values: st.map((s) => s.heunCorrectionRms?.[index] ?? null) },
    { label: 't', values: st.map((s) => s.t), scale: 't' },
  ], { xLabel: 'step', yLabel: 'RMS over pixels', shade: st.map((s) => s.cfgActive), marker: () => (frame < st.length ? frame : undefined) });
}

function drawPca(): void {
  if (!data) return;
  const t = chartTheme();
  const p = unpackTensor(data.pack, 'pca', 'float32');
  const [K, F] = p.shape;
  const series = [];
  for (let k = 0; k < K; k++) {
    if (k === index) continue;
    series.push({ points: p.data.subarray(k * F * 2, (k + 1) * F * 2), colors: [withAlpha(t.muted, 0.5)], path: true, width: 1 });
  }
  const mine = p.data.subarray(index * F * 2, (index + 1) * F * 2);
  series.push({ points: mine, colors: Array.from({ length: F }, (_, f) => rampColor(t, f / Math.max(1, F - 1))), path: true, width: t.lineWidth + 0.5 });
  drawScatter(pcaCanvas, t, series, { x: `PC1 (${(100 * data.pcaExplained[0]).toFixed(1)}%)`, y: `PC2 (${(100 * data.pcaExplained[1]).toFixed(1)}%)` }, { x: mine[2 * frame], y: mine[2 * frame + 1] });
  pcaCaption.textContent = `One PCA over every state of the ${K} paths; sample ${index + 1} in colour (noise → sample), the others grey; the ring marks the current step.`;
}

function drawCompare(): void {
  clear(compareSection);
  compareSection.append(el('h2', { text: 'Euler against Heun from the same noise' }));
  if (!comparison || comparison.index !== index) {
    const b = el('button', { type: 'button', text: 'Compare Euler and Heun at equal evaluations' });
    b.addEventListener('click', () => {
      api.post({ type: 'compare', index });
      b.disabled = true;
      b.textContent = 'Sampling both in the engine…';
    });
    compareSection.append(el('p', { class: 'muted', text: 'Samples this image\'s recorded noise again with Heun and with Euler at the same number of network evaluations.' }), b);
    return;
  }
  const c = comparison;
  const s = c.imageSize;
  const hz = unpackTensor(c.pack, 'heunZ', 'uint8').data;
  const ez = unpackTensor(c.pack, 'eulerZ', 'uint8').data;
  const strip = (bytes: Uint8Array, count: number, name: string) => {
    const d = el('div', { class: 'strip', 'aria-label': name });
    const every = Math.max(1, Math.ceil(count / 26));
    for (let f = 0; f < count; f += every) d.append(imageCanvas(bytes, f, s, s, `${name} state ${f}`));
    if ((count - 1) % every) d.append(imageCanvas(bytes, count - 1, s, s, `${name} final`));
    return d;
  };
  const finals = el('div', { class: 'big' },
    figure(imageCanvas(hz, c.heun.steps, s, s, 'Heun final'), `Heun, ${c.heun.steps} steps, ${c.heun.evaluations} evaluations`),
    figure(imageCanvas(ez, c.euler.steps, s, s, 'Euler final'), `Euler, ${c.euler.steps} steps, ${c.euler.evaluations} evaluations`));
  compareSection.append(finals,
    el('p', { text: `RMS difference of the two samples: ${c.finalRmsDifference.toPrecision(3)}` }),
    el('p', { class: 'muted', text: 'Heun path:' }), strip(hz, c.heun.steps + 1, 'Heun'),
    el('p', { class: 'muted', text: 'Euler path:' }), strip(ez, c.euler.steps + 1, 'Euler'));
}

function show(f: number): void {
  if (!data) return;
  const K = data.labels.length;
  const steps = data.steps.length;
  frame = Math.max(0, Math.min(steps, f));
  scrub.value = String(frame);
  const s = S();
  drawInto(bigZ, unpackTensor(data.pack, 'z', 'uint8').data, frame * K + index, s, s);
  drawInto(bigX, unpackTensor(data.pack, 'xPred', 'uint8').data, Math.min(frame, steps - 1) * K + index, s, s);
  const st = data.steps[Math.min(frame, steps - 1)];
  frameLabel.textContent = frame < steps
    ? `step ${frame} of ${steps}: t = ${st.t.toFixed(3)}, ${st.method}${st.cfgActive ? ', guided' : ''}, |v| = ${st.vRms[index].toPrecision(3)}`
    : `final sample (t = 1)`;
  zStrip.querySelectorAll('canvas').forEach((c, i) => c.classList.toggle('current', i === frame));
  xStrip.querySelectorAll('canvas').forEach((c, i) => c.classList.toggle('current', i === Math.min(frame, steps - 1)));
  chart?.redraw(false);
  drawPca();
  state.frame = frame;
  api.setState(state);
}

function select(k: number): void {
  index = k;
  state.index = k;
  api.post({ type: 'select', index: k });
  render();
}

function stop(): void {
  if (timer !== undefined) window.clearInterval(timer);
  timer = undefined;
  play.textContent = 'Play';
}

play.addEventListener('click', () => {
  if (timer !== undefined) return stop();
  if (!data) return;
  if (frame >= data.steps.length) show(0);
  play.textContent = 'Pause';
  timer = window.setInterval(() => {
    if (!data || frame >= data.steps.length) return stop();
    show(frame + 1);
  }, 250);
});
scrub.addEventListener('input', () => show(Number(scrub.value)));

window.addEventListener('message', (event: MessageEvent<ToTrajectory>) => {
  const m = event.data;
  switch (m.type) {
    case 'trajectory':
      data = m.data;
      index = Math.min(m.index, m.data.labels.length - 1);
      frame = state.index === index ? state.frame ?? m.data.steps.length : m.data.steps.length;
      state.index = index;
      comparison = undefined;
      content.hidden = false;
      setStatus('');
      render();
      return;
    case 'comparison':
      comparison = m.data;
      setStatus('');
      drawCompare();
      return;
    case 'busy':
      setStatus(m.message);
      return;
    case 'error':
      setStatus(m.message, true);
      drawCompare();
      return;
  }
});
onThemeChange(() => render());
new ResizeObserver(() => drawPca()).observe(pcaCanvas);
api.post({ type: 'ready' });
