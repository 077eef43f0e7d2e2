// Turning model images (NCHW float in [-1, 1]) into PNG files: one image, or a padded grid of samples.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

/** The one float -> byte conversion: (x + 1) / 2 * 255, clipped to [-1, 1] and rounded; NaN maps to 0. */
export function unitToByte(x: number): number {
  if (!(x > -1)) return 0; // also catches NaN
  if (x >= 1) return 255;
  return Math.round(((x + 1) / 2) * 255);
}

/** One image of an NCHW batch [N, 3, S, S] as HWC bytes [S, S, 3]. */
export function toRgbBytes(images: Float32Array, index: number, size: number): Uint8Array {
  const plane = size * size;
  const offset = index * 3 * plane;
  if (!Number.isInteger(index) || index < 0 || offset + 3 * plane > images.length) {
    throw new Error(`Image ${index} of size ${size} is outside a buffer of ${images.length} floats; check the index and image size.`);
  }
  const rgb = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    rgb[3 * p] = unitToByte(images[offset + p]);
    rgb[3 * p + 1] = unitToByte(images[offset + plane + p]);
    rgb[3 * p + 2] = unitToByte(images[offset + 2 * plane + p]);
  }
  return rgb;
}

/** Encodes HWC RGB bytes [height, width, 3] as a PNG. */
export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  if (rgb.length !== width * height * 3) {
    throw new Error(`encodePng got ${rgb.length} bytes for a ${width}x${height} RGB image (expected ${width * height * 3}); pass HWC RGB bytes.`);
  }
  const input = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength); // a view, not a copy
  return sharp(input, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Writes to a temporary sibling then renames, so a reader (e.g. the extension's image view) never sees half a file. */
async function writeFileAtomic(file: string, data: Buffer): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

const GRID_GREY = 128;

/**
 * Lays out the first n images of an NCHW batch [n, 3, size, size] (floats in [-1, 1], clipped) in a grid with
 * `pad` grey pixels between and around them, each upscaled by an integer factor (nearest neighbour, so small
 * samples stay crisp), and writes it as a PNG atomically.
 */
export async function writeImageGrid(
  file: string,
  images: Float32Array,
  n: number,
  size: number,
  opts: { cols?: number; pad?: number; scale?: number } = {},
): Promise<void> {
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const pad = opts.pad ?? 2;
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`writeImageGrid needs at least one image, got n=${n}.`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`writeImageGrid needs a positive integer image size, got ${size}.`);
  if (images.length < n * 3 * size * size) {
    throw new Error(`writeImageGrid got ${images.length} floats for ${n} images of ${size}x${size} (needs ${n * 3 * size * size}); check n and size.`);
  }
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`Grid columns must be a positive integer, got ${cols}.`);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`Grid padding must be a non-negative integer, got ${pad}.`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`Grid scale must be a positive integer, got ${scale}.`);

  const rows = Math.ceil(n / cols);
  const cell = size * scale;
  const width = cols * cell + (cols + 1) * pad;
  const height = rows * cell + (rows + 1) * pad;
  const grid = new Uint8Array(width * height * 3).fill(GRID_GREY); // HWC [height, width, 3]
  for (let i = 0; i < n; i++) {
    const rgb = toRgbBytes(images, i, size); // [size, size, 3]
    const left = pad + (i % cols) * (cell + pad);
    const top = pad + Math.floor(i / cols) * (cell + pad);
    for (let y = 0; y < cell; y++) {
      const srcRow = Math.floor(y / scale) * size;
      const dstRow = (top + y) * width + left;
      for (let x = 0; x < cell; x++) {
        const src = 3 * (srcRow + Math.floor(x / scale));
        const dst = 3 * (dstRow + x);
        grid[dst] = rgb[src];
        grid[dst + 1] = rgb[src + 1];
        grid[dst + 2] = rgb[src + 2];
      }
    }
  }
  await writeFileAtomic(file, await encodePng(grid, width, height));
}
