// The Sample Gallery view: thumbnails of every run's sample grids grouped by run and training step, one step
// slider that moves all runs together (each shows its latest grid at or before the step), settings on hover,
// click an image to open its trajectory, and per-grid actions. The images of the last "JiT: Sample Images" are drawn
// from the bytes the engine produced, each with its class label.
import './style.css';
import { clear, el } from '../shared/dom';
import { FromGallery, GalleryEntry, GalleryImages, GalleryRun, GalleryState, ToGallery } from '../../src/wire/dashboardMessages';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<GalleryState, FromGallery>();
const state: GalleryState = api.getState() ?? {};

const app = document.getElementById('app')!;
const fresh = el('section', { class: 'fresh', hidden: true });
const sliderLabel = el('label', { class: 'slider-label', for: 'step-slider' });
const slider = el('input', { id: 'step-slider', type: 'range', min: 0, max: 0, step: 1 });
const sliderRow = el('div', { class: 'slider-row', hidden: true }, sliderLabel, slider);
const groupsEl = el('section', { class: 'groups' });
const message = el('p', { class: 'caption' });
const sampleButton = el('button', { type: 'button', class: 'primary', text: 'Sample from the latest checkpoint…' });
app.append(fresh, sliderRow, message, groupsEl, sampleButton);

let runs: GalleryRun[] = [];
let steps: number[] = [];

/** The group a run shows at a step: its latest at or before it, or its first when all are later. */
function groupAt(run: GalleryRun, step: number): GalleryRun['steps'][number] | undefined {
  let found: GalleryRun['steps'][number] | undefined;
  for (const g of run.steps) if (g.step <= step) found = g;
  return found ?? run.steps[0];
}

/** Which image of a grid a click hit (grids are ceil(sqrt(n)) columns wide, in reading order). */
function imageIndex(img: HTMLImageElement, n: number, event: MouseEvent): number {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const box = img.getBoundingClientRect();
  const col = Math.min(cols - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * cols)));
  const row = Math.min(rows - 1, Math.max(0, Math.floor(((event.clientY - box.top) / box.height) * rows)));
  return Math.min(n - 1, row * cols + col);
}

function actionButton(text: string, title: string, post: FromGallery): HTMLButtonElement {
  const b = el('button', { type: 'button', class: 'action', text, title });
  b.addEventListener('click', () => api.post(post));
  return b;
}

function entryFigure(e: GalleryEntry): HTMLElement {
  const hint = e.trajectory ? 'Click an image to open its trajectory' : 'Click to open the grid (grids written while training have no trajectory)';
  const img = el('img', { class: 'thumb', src: e.uri, alt: `${e.label}: ${e.title}`, title: `${e.title}\n${hint}`, tabindex: 0, 'data-key': e.key });
  const open = (index?: number) => api.post({ type: 'open', key: e.key, index });
  img.addEventListener('click', (ev) => open(e.trajectory && e.n ? imageIndex(img, e.n, ev) : undefined));
  img.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      open(0);
    }
  });
  const actions = el('div', { class: 'actions' },
    actionButton('Save PNG', 'Save this grid as a PNG file', { type: 'savePng', key: e.key }),
    actionButton('Copy settings', 'Copy the settings this grid was made with', { type: 'copySettings', key: e.key }),
    e.repeatable ? actionButton('Sample again', 'Sample again from the same checkpoint with the same seed and settings', { type: 'sampleAgain', key: e.key }) : undefined);
  return el('figure', { class: `entry ${e.origin}` }, img, el('figcaption', { text: e.label, title: e.title }), actions);
}

function render(): void {
  clear(groupsEl);
  const step = state.step !== undefined && steps.includes(state.step) ? state.step : steps.at(-1);
  const index = step === undefined ? -1 : steps.indexOf(step);
  sliderRow.hidden = steps.length < 2;
  slider.max = String(Math.max(0, steps.length - 1));
  slider.value = String(Math.max(0, index));
  slider.setAttribute('aria-valuetext', step === undefined ? '' : `step ${step}`);
  sliderLabel.textContent = step === undefined ? '' : `Step ${step} (${index + 1} of ${steps.length})`;
  for (const run of runs) {
    const group = step === undefined ? undefined : groupAt(run, step);
    const heading = el('h2', { class: 'run', text: run.id });
    const section = el('section', { class: 'run-group', 'data-run': run.id }, heading);
    if (!group) {
      section.append(el('p', { class: 'caption', text: 'No sample grids yet: training writes one every few hundred steps and when it ends.' }));
    } else {
      section.append(el('h3', { text: group.step === step ? `step ${group.step}` : `step ${group.step} (its latest at step ${step})` }));
      const wrap = el('div', { class: 'entries' });
      for (const e of group.entries) wrap.append(entryFigure(e));
      section.append(wrap);
      for (const line of group.scores) section.append(el('p', { class: 'caption scores', text: line }));
    }
    groupsEl.append(section);
  }
}

function drawImages(images: GalleryImages): HTMLElement {
  const wrap = el('div', { class: 'tiles' });
  const { n, size } = images;
  const bytes = new Uint8Array(images.buffer);
  for (let i = 0; i < n; i++) {
    const canvas = el('canvas', { width: size, height: size, class: 'tile', 'aria-label': images.labels[i] ?? '' });
    const ctx = canvas.getContext('2d');
    if (ctx) {
      const rgba = ctx.createImageData(size, size);
      for (let p = 0, o = i * size * size * 3; p < size * size; p++, o += 3) {
        rgba.data[4 * p] = bytes[o];
        rgba.data[4 * p + 1] = bytes[o + 1];
        rgba.data[4 * p + 2] = bytes[o + 2];
        rgba.data[4 * p + 3] = 255;
      }
      ctx.putImageData(rgba, 0, 0);
    }
    wrap.append(el('figure', {}, canvas, el('figcaption', { text: images.labels[i] ?? '' })));
  }
  return wrap;
}

window.addEventListener('message', (event: MessageEvent<ToGallery>) => {
  const m = event.data;
  switch (m.type) {
    case 'empty':
      runs = [];
      steps = [];
      clear(groupsEl);
      sliderRow.hidden = true;
      fresh.hidden = true;
      sampleButton.hidden = true;
      message.textContent = m.message;
      return;
    case 'groups': {
      sampleButton.hidden = false;
      message.textContent = '';
      if (m.selected !== state.runId) fresh.hidden = true;
      state.runId = m.selected;
      runs = m.runs;
      steps = m.steps;
      api.setState(state);
      render();
      return;
    }
    case 'samples':
      if (m.id !== state.runId) return;
      clear(fresh);
      fresh.append(el('h3', { text: `Latest sample of ${m.id}` }), drawImages(m.images), el('p', { class: 'caption', text: m.caption }));
      fresh.hidden = false;
      return;
  }
});

slider.addEventListener('input', () => {
  const i = Number(slider.value);
  // The last position follows new steps as training writes them.
  state.step = i >= steps.length - 1 ? undefined : steps[i];
  api.setState(state);
  render();
});
sampleButton.addEventListener('click', () => api.post({ type: 'sample' }));
api.post({ type: 'ready' });
