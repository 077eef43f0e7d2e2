// Drawing images that arrive as uint8 HWC RGB bytes onto canvases (scaled up by CSS, pixelated).
import { el } from './dom';

/** A canvas holding image `index` of `bytes` [*, h, w, 3]. */
export function imageCanvas(bytes: Uint8Array, index: number, w: number, h: number, label: string): HTMLCanvasElement {
  const canvas = el('canvas', { width: w, height: h, class: 'pixels', role: 'img', 'aria-label': label });
  drawInto(canvas, bytes, index, w, h);
  return canvas;
}

export function drawInto(canvas: HTMLCanvasElement, bytes: Uint8Array, index: number, w: number, h: number): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(w, h);
  const o = index * w * h * 3;
  for (let p = 0; p < w * h; p++) {
    img.data[4 * p] = bytes[o + 3 * p];
    img.data[4 * p + 1] = bytes[o + 3 * p + 1];
    img.data[4 * p + 2] = bytes[o + 3 * p + 2];
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A figure: canvas plus a caption. */
export function figure(canvas: HTMLCanvasElement, caption: string, title?: string): HTMLElement {
  return el('figure', { title }, canvas, el('figcaption', { text: caption }));
}
