// The bottleneck latent viewer: proj1's rows as patch tiles, the bottleneck's singular values and effective rank,
// a PCA scatter of real patches' codes coloured by class or by t, "latent images" next to their images, and the
// reconstruction error from the d' codes against the best d'-dim linear projection; a slider over checkpoints.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import uPlot from 'uplot';
import { clear, el, onThemeChange } from '../shared/dom';
import { figure, imageCanvas } from '../shared/pixels';
import { chartTheme, drawScatter, rampColor, stepChart } from '../shared/plots';
import { unpackTensor } from '../../src/wire/tensorPack';
import { FromLatent, LatentData, LatentState, ToLatent } from '../../src/wire/explorerMessages';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<LatentState, FromLatent>();
const state: LatentState = api.getState() ?? {};
const app = document.getElementById('app')!;
const status = el('p', { class: 'status', role: 'status', text: 'Analysing the checkpoint in the engine…' });
const content = el('div', { hidden: true });
app.append(status, content);
let data: LatentData | undefined;
let spectrum: uPlot | undefined;
const scatter = el('canvas', { class: 'plot', role: 'img', 'aria-label': 'PCA scatter of bottleneck codes' });

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.className = error ? 'status error' : 'status';
  status.hidden = !text;
}

function drawScatterPlot(): void {
  if (!data) return;
  const t = chartTheme();
  const by = state.colourBy ?? 'class';
  const pts = unpackTensor(data.pack, by === 'class' ? 'classPoints' : 'tPoints', 'float32').data;
  const vals = unpackTensor(data.pack, by === 'class' ? 'classValues' : 'tValues', 'float32').data;
  const colors = Array.from(vals, (v) => (by === 'class' ? t.series[v % t.series.length] : rampColor(t, v)));
  const ex = by === 'class' ? data.classExplained : data.tExplained;
  drawScatter(scatter, t, [{ points: pts, colors }], { x: `PC1 (${(100 * ex[0]).toFixed(1)}%)`, y: `PC2 (${(100 * ex[1]).toFixed(1)}%)` });
}

function render(): void {
  if (!data) return;
  const d = data;
  const t = chartTheme();
  clear(content);
  const basis = unpackTensor(d.pack, 'basis', 'uint8');
  const tiles = el('div', { class: 'tiles', style: '--tile: 36px' });
  for (let i = 0; i < basis.shape[0]; i++) tiles.append(imageCanvas(basis.data, i, d.patchSize, d.patchSize, `basis patch ${i + 1}`));

  const slider = el('input', { type: 'range', min: 0, max: Math.max(0, d.checkpoints.length - 1), step: 1, value: d.current, 'aria-label': 'checkpoint' });
  slider.disabled = d.checkpoints.length < 2;
  const stepLabel = el('span', { class: 'muted', text: `checkpoint at step ${d.checkpoints[d.current] ?? d.step ?? '?'} (${d.current + 1} of ${d.checkpoints.length})` });
  slider.addEventListener('input', () => (stepLabel.textContent = `checkpoint at step ${d.checkpoints[Number(slider.value)]}`));
  slider.addEventListener('change', () => {
    setStatus('Analysing the checkpoint in the engine…');
    api.post({ type: 'checkpoint', index: Number(slider.value) });
  });

  const colourBy = el('select', { 'aria-label': 'colour the scatter by' }, el('option', { value: 'class', text: 'colour by class' }), el('option', { value: 't', text: `colour by t (${d.tValues.join(', ')})` }));
  colourBy.value = state.colourBy ?? 'class';
  colourBy.addEventListener('change', () => {
    state.colourBy = colourBy.value === 't' ? 't' : 'class';
    api.setState(state);
    drawScatterPlot();
  });
  const legend = el('p', { class: 'muted' });
  if ((state.colourBy ?? 'class') === 'class') {
    const names = [...new Set(d.labels)];
    legend.textContent = d.classCount ? `${d.classCount} classes, colours cycle over ${t.series.length}` : '';
    if (names.length <= 10) legend.textContent = `images: ${d.labels.join(', ')}`;
  } else legend.textContent = 't = 0 (noise) in the first colour, t = 1 (data) in the second';

  const images = unpackTensor(d.pack, 'images', 'uint8').data;
  const latent = unpackTensor(d.pack, 'latent', 'uint8').data;
  const pairs = el('div', { class: 'pairs' });
  const B = d.labels.length;
  for (let b = 0; b < B; b++) {
    pairs.append(el('figure', {}, el('div', { class: 'pair' },
      imageCanvas(images, b, d.imageSize, d.imageSize, `image ${b + 1}`), imageCanvas(latent, b, d.gridSize, d.gridSize, `latent image ${b + 1}`)), el('figcaption', { text: d.labels[b] })));
  }

  const fromCodes = unpackTensor(d.pack, 'fromCodes', 'uint8').data;
  const fromPca = unpackTensor(d.pack, 'fromPca', 'uint8').data;
  const errCodes = unpackTensor(d.pack, 'errCodes', 'uint8').data;
  const errPca = unpackTensor(d.pack, 'errPca', 'uint8').data;
  const recon = el('div', {});
  for (let b = 0; b < Math.min(B, 4); b++) {
    const s = d.imageSize;
    recon.append(el('div', { class: 'recon' },
      figure(imageCanvas(images, b, s, s, 'image'), 'image'),
      figure(imageCanvas(fromCodes, b, s, s, 'from the codes'), 'from codes'),
      figure(imageCanvas(errCodes, b, s, s, 'error from the codes'), 'error'),
      figure(imageCanvas(fromPca, b, s, s, 'best linear'), `PCA ${d.pcaKept}`),
      figure(imageCanvas(errPca, b, s, s, 'error of PCA'), 'error')));
  }
  const numbers = el('table', { class: 'numbers' },
    el('tr', {}, el('th', { text: `from the ${d.bottleneckDim} bottleneck codes` }), el('td', { text: d.bottleneckError.toPrecision(4) })),
    el('tr', {}, el('th', { text: `best ${d.pcaKept}-dim linear projection (PCA)` }), el('td', { text: d.pcaError.toPrecision(4) })),
    el('tr', {}, el('th', { text: 'ratio' }), el('td', { text: d.pcaError > 0 ? `${(d.bottleneckError / d.pcaError).toFixed(2)} ×` : '—' })));

  const spectrumHost = el('div', { class: 'chart' });
  content.append(
    el('h1', { text: d.title }),
    el('div', { class: 'row' }, slider, stepLabel),
    el('p', { class: 'muted', text: `${d.weights} weights; patches of ${d.patchSize} × ${d.patchSize} pixels (${d.patchDim} values) embedded in d' = ${d.bottleneckDim} dimensions` }),
    el('div', { class: 'columns' },
      el('section', { class: 'card' }, el('h2', { text: `Basis patches: the ${d.bottleneckDim} rows of proj1` }), tiles, el('p', { class: 'muted', text: 'each scaled to its own largest weight; grey is 0' })),
      el('section', { class: 'card' }, el('h2', { text: 'Singular values of the bottleneck' }), spectrumHost,
        el('p', { text: `effective rank ${d.effectiveRank.toFixed(2)} of ${d.singularValues.length}; ${d.energy90} values hold 90% of the energy, ${d.energy99} hold 99%` }))),
    el('div', { class: 'columns' },
      el('section', { class: 'card' }, el('h2', { text: 'Codes of real patches: PCA scatter' }), colourBy, scatter, legend),
      el('section', { class: 'card' }, el('h2', { text: 'Latent images (first 3 PCs of the codes as RGB)' }), pairs,
        el('p', { class: 'muted', text: `PC shares ${d.latentExplained.map((r) => `${(100 * r).toFixed(1)}%`).join(', ')}` }))),
    el('section', { class: 'card' }, el('h2', { text: 'What the bottleneck keeps: mean squared error per patch value' }), numbers, recon,
      el('p', { class: 'muted', text: `error pictures: mean absolute error per pixel, white = ${d.errorScale.toPrecision(3)}` })),
  );
  spectrum?.destroy();
  spectrum = stepChart(spectrumHost, t, d.singularValues.map((_, i) => i + 1), [{ label: 'singular value', values: d.singularValues }], { xLabel: 'index', yLabel: 'σ', height: 180 });
  drawScatterPlot();
}

window.addEventListener('message', (event: MessageEvent<ToLatent>) => {
  const m = event.data;
  if (m.type === 'latent') {
    data = m.data;
    content.hidden = false;
    setStatus('');
    render();
  } else setStatus(m.message, m.type === 'error');
});
onThemeChange(() => render());
new ResizeObserver(() => drawScatterPlot()).observe(scatter);
api.post({ type: 'ready' });
