// A minimal RGB rasteriser for plots: filled squares for points, lines, and text in a 3x5 pixel font (just the
// characters the lab's figure needs). Pixels are HWC bytes [height, width, 3], ready for `encodePng`.

export type Rgb = [number, number, number];

// Each glyph is 5 rows of 3 bits, top row first, most significant bit on the left.
const FONT: Record<string, number[]> = {
  '0': [0b111, 0b101, 0b101, 0b101, 0b111],
  '1': [0b010, 0b110, 0b010, 0b010, 0b111],
  '2': [0b111, 0b001, 0b111, 0b100, 0b111],
  '3': [0b111, 0b001, 0b111, 0b001, 0b111],
  '4': [0b101, 0b101, 0b111, 0b001, 0b001],
  '5': [0b111, 0b100, 0b111, 0b001, 0b111],
  '6': [0b111, 0b100, 0b111, 0b101, 0b111],
  '7': [0b111, 0b001, 0b010, 0b010, 0b010],
  '8': [0b111, 0b101, 0b111, 0b101, 0b111],
  '9': [0b111, 0b101, 0b111, 0b001, 0b111],
  '.': [0b000, 0b000, 0b000, 0b000, 0b010],
  '=': [0b000, 0b111, 0b000, 0b111, 0b000],
  '-': [0b000, 0b000, 0b111, 0b000, 0b000],
  ' ': [0, 0, 0, 0, 0],
  D: [0b110, 0b101, 0b101, 0b101, 0b110],
  a: [0b000, 0b011, 0b101, 0b101, 0b011],
  e: [0b000, 0b111, 0b111, 0b100, 0b111],
  f: [0b011, 0b100, 0b110, 0b100, 0b100],
  i: [0b010, 0b000, 0b010, 0b010, 0b010],
  n: [0b000, 0b110, 0b101, 0b101, 0b101],
  p: [0b000, 0b111, 0b101, 0b111, 0b100],
  s: [0b000, 0b011, 0b110, 0b011, 0b110],
  v: [0b000, 0b101, 0b101, 0b101, 0b010],
  x: [0b000, 0b101, 0b010, 0b010, 0b101],
};

export class Canvas {
  readonly rgb: Uint8Array; // [height, width, 3]

  constructor(readonly width: number, readonly height: number, background: Rgb) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`A canvas needs positive whole-number sides, got ${width}x${height}.`);
    }
    this.rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.rgb.set(background, 3 * i);
  }

  /** Sets one pixel; coordinates outside the canvas are ignored. */
  pixel(x: number, y: number, c: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.rgb.set(c, 3 * (py * this.width + px));
  }

  /** A filled square of side `size` centred on (x, y). */
  dot(x: number, y: number, size: number, c: Rgb): void {
    const lo = -Math.floor((size - 1) / 2);
    for (let dy = lo; dy < lo + size; dy++) for (let dx = lo; dx < lo + size; dx++) this.pixel(x + dx, y + dy, c);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let py = y; py < y + h; py++) for (let px = x; px < x + w; px++) this.pixel(px, py, c);
  }

  /** A one-pixel line from (x0, y0) to (x1, y1), sampled at every pixel step of its longer side. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) this.pixel(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  }

  /** Text with its top-left corner at (x, y), each font pixel drawn as a scale x scale square. Returns its width. */
  text(x: number, y: number, s: string, c: Rgb, scale = 2): number {
    let left = x;
    for (const ch of s) {
      const glyph = FONT[ch];
      if (!glyph) throw new Error(`The figure font has no character "${ch}"; use digits, ".", "=", "-", space or one of ${Object.keys(FONT).filter((k) => /[a-zA-Z]/.test(k)).join('')}.`);
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 3; col++) if (bits & (0b100 >> col)) this.fillRect(left + col * scale, y + row * scale, scale, scale, c);
      });
      left += 4 * scale;
    }
    return left - x;
  }
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(s: string, scale = 2): number {
  return [...s].length * 4 * scale;
}
