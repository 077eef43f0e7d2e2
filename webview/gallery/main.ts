// The Sample Gallery view: the newest sample grid of the selected run with a slider over earlier ones, and the
// images of the last "JiT: Sample" drawn from the bytes the engine produced, each with its class label.
import './style.css';
import { clear, el } from '../shared/dom';
import { FromGallery, GalleryImages, GalleryState, ToGallery } from '../shared/protocol';
import { viewApi } from '../shared/vscodeApi';

const api = viewApi<GalleryState, FromGallery>();
const state: GalleryState = api.getState() ?? {};

const app = document.getElementById('app')!;
const heading = el('h2', { class: 'run' });
const fresh = el('section', { class: 'fresh', hidden: true });
const gridImg = el('img', { id: 'grid-image', alt: 'Sample grid', hidden: true, title: 'Open the grid in an editor' });
const slider = el('input', { type: 'range', min: 0, max: 0, step: 1, 'aria-label': 'sample grid step', hidden: true });
const caption = el('p', { class: 'caption' });
const sampleButton = el('button', { type: 'button', text: 'Sample from the latest checkpoint…' });
app.append(heading, fresh, el('section', { class: 'grids' }, gridImg, slider, caption), sampleButton);

let grids: { step: number; uri: string }[] = [];

function showGrid(index: number): void {
  const g = grids[index];
  gridImg.hidden = !g;
  if (!g) return;
  gridImg.src = g.uri;
  gridImg.dataset.step = String(g.step);
  caption.textContent = `Preview grid at step ${g.step} (${index + 1} of ${grids.length})`;
  state.step = g.step;
  api.setState(state);
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
      heading.textContent = '';
      grids = [];
      gridImg.hidden = true;
      slider.hidden = true;
      fresh.hidden = true;
      sampleButton.hidden = true;
      caption.textContent = m.message;
      return;
    case 'run': {
      sampleButton.hidden = false;
      if (m.id !== state.runId) {
        fresh.hidden = true;
        state.step = undefined;
      }
      state.runId = m.id;
      heading.textContent = m.id;
      grids = m.grids;
      slider.max = String(Math.max(0, grids.length - 1));
      slider.hidden = grids.length < 2;
      const remembered = grids.findIndex((g) => g.step === state.step);
      const index = remembered >= 0 && remembered < grids.length - 1 ? remembered : grids.length - 1;
      slider.value = String(index);
      if (grids.length) showGrid(index);
      else {
        gridImg.hidden = true;
        caption.textContent = m.caption;
      }
      api.setState(state);
      return;
    }
    case 'samples':
      if (m.id !== state.runId) return;
      clear(fresh);
      fresh.append(el('h3', { text: 'Latest sample' }), drawImages(m.images), el('p', { class: 'caption', text: m.caption }));
      fresh.hidden = false;
      return;
  }
});

slider.addEventListener('input', () => showGrid(Number(slider.value)));
gridImg.addEventListener('click', () => {
  const step = Number(gridImg.dataset.step);
  if (Number.isFinite(step)) api.post({ type: 'openGrid', step });
});
sampleButton.addEventListener('click', () => api.post({ type: 'sample' }));
api.post({ type: 'ready' });
