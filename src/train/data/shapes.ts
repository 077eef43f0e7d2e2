// The built-in dataset: one coloured geometric shape per image, rasterised on the fly so training works with no
// download at any resolution. Edges are anti-aliased analytically: each shape is a signed distance function (in
// pixels) and a pixel's coverage is clamp(0.5 - d, 0, 1), which is a one-pixel box filter across the edge.
import type { Rng } from '../../jit/random';
import { checkBatchSize, type Batch, type Dataset } from './dataset';

/** Class index = position in this list. Shapes chosen to be told apart at a glance at 32 px. */
export const SHAPE_CLASSES: string[] = ['circle', 'square', 'triangle', 'ring', 'plus', 'diamond', 'stripes', 'star'];

/** Signed distance in pixels (negative inside) at local coordinates (x right, y down) around the shape centre. */
type Sdf = (x: number, y: number) => number;

type Rgb = [number, number, number]; // each channel in [0, 1]

/** Smallest side the shapes stay recognisable at; below this the stripes and ring merge into blobs. */
const MIN_IMAGE_SIZE = 16;
/** Shape circumradius as a fraction of the image side. */
const MIN_RADIUS = 0.25;
const MAX_RADIUS = 0.4;
/** Rotation jitter (radians) small enough that a square never turns into a diamond or the stripes into bars. */
const MAX_TILT = (12 * Math.PI) / 180;
/** Minimum luminance difference between shape and background colour. */
const MIN_CONTRAST = 0.35;

/** Euclidean length; Math.hypot is several times slower in V8 and this runs per pixel. */
function len(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

function boxSdf(x: number, y: number, halfW: number, halfH: number): number {
  const qx = Math.abs(x) - halfW;
  const qy = Math.abs(y) - halfH;
  const outside = len(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0);
}

/** Five-pointed star, tip up (after Inigo Quilez's sdStar5, with y flipped for image coordinates). */
function starSdf(x: number, y: number, r: number, innerRatio: number): number {
  const k1x = 0.809016994375;
  const k1y = -0.587785252292;
  let px = Math.abs(x);
  let py = -y;
  let fold = Math.max(k1x * px + k1y * py, 0);
  px -= 2 * fold * k1x;
  py -= 2 * fold * k1y;
  fold = Math.max(-k1x * px + k1y * py, 0);
  px -= 2 * fold * -k1x;
  py -= 2 * fold * k1y;
  px = Math.abs(px);
  py -= r;
  const bax = -innerRatio * k1y;
  const bay = innerRatio * k1x - 1;
  const h = Math.min(Math.max((px * bax + py * bay) / (bax * bax + bay * bay), 0), r);
  return len(px - bax * h, py - bay * h) * Math.sign(py * bax - px * bay);
}

// Outward edge normals of an equilateral triangle with one vertex straight up (y down): bottom, upper left, upper right.
const TRIANGLE_NORMALS: [number, number][] = [90, 210, 330].map((deg) => {
  const a = (deg * Math.PI) / 180;
  return [Math.cos(a), Math.sin(a)];
});

/** The shape of class `kind` with circumradius about r pixels; also returns how far it can reach from its centre. */
function shapeSdf(kind: number, r: number): { sdf: Sdf; reach: number } {
  switch (SHAPE_CLASSES[kind]) {
    case 'circle':
      return { sdf: (x, y) => len(x, y) - 0.9 * r, reach: r };
    case 'square':
      return { sdf: (x, y) => boxSdf(x, y, 0.7 * r, 0.7 * r), reach: r };
    case 'triangle': {
      // Max of edge-line distances: exact inside and along edges, which is all the anti-aliasing needs.
      const inradius = 0.5 * r;
      const sdf: Sdf = (x, y) => {
        let d = -Infinity;
        for (const [nx, ny] of TRIANGLE_NORMALS) d = Math.max(d, nx * x + ny * y - inradius);
        return d;
      };
      return { sdf, reach: r };
    }
    case 'ring':
      return { sdf: (x, y) => Math.abs(len(x, y) - 0.7 * r) - 0.25 * r, reach: r };
    case 'plus':
      return { sdf: (x, y) => Math.min(boxSdf(x, y, 0.95 * r, 0.28 * r), boxSdf(x, y, 0.28 * r, 0.95 * r)), reach: 1.05 * r };
    case 'diamond': {
      // Rhombus with half-diagonals a (x) and b (y): the L1 ball scaled to distance along the edge normal.
      const a = 0.72 * r; // narrower than tall, so a tilted diamond never reads as a square
      const b = r;
      const norm = (a * b) / len(a, b);
      return { sdf: (x, y) => (Math.abs(x) / a + Math.abs(y) / b - 1) * norm, reach: r };
    }
    case 'stripes': {
      // Three equal bars separated by two equal gaps, filling a 0.9r x 0.85r half-extent box.
      const halfBar = 0.17 * r;
      const pitch = 0.68 * r;
      const sdf: Sdf = (x, y) =>
        Math.min(boxSdf(x, y + pitch, 0.9 * r, halfBar), boxSdf(x, y, 0.9 * r, halfBar), boxSdf(x, y - pitch, 0.9 * r, halfBar));
      return { sdf, reach: 1.25 * r };
    }
    case 'star':
      return { sdf: (x, y) => starSdf(x, y, r, 0.45), reach: r };
    default:
      throw new Error(`Unknown shape class index ${kind}; expected 0..${SHAPE_CLASSES.length - 1}.`);
  }
}

function hsvToRgb(h: number, s: number, v: number): Rgb {
  const f = (n: number): number => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

function luminance([r, g, b]: Rgb): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A background (muted) and a shape colour (saturated) whose luminances differ by at least MIN_CONTRAST. */
function pickColours(rng: Rng): { background: Rgb; foreground: Rgb } {
  const background = hsvToRgb(rng.uniform(), 0.6 * rng.uniform(), 0.05 + 0.9 * rng.uniform());
  const bgLum = luminance(background);
  // Rejection sampling; a fixed number of tries keeps the rng stream length bounded.
  for (let attempt = 0; attempt < 16; attempt++) {
    const foreground = hsvToRgb(rng.uniform(), 0.4 + 0.6 * rng.uniform(), 0.3 + 0.7 * rng.uniform());
    if (Math.abs(luminance(foreground) - bgLum) >= MIN_CONTRAST) return { background, foreground };
  }
  const fallback: Rgb = bgLum > 0.5 ? [0.08, 0.08, 0.1] : [0.95, 0.95, 0.92];
  return { background, foreground: fallback };
}

/** Draws one image into out[offset .. offset + 3*S*S) as NCHW [3, S, S] in [-1, 1]; returns its class. */
function drawShape(rng: Rng, size: number, out: Float32Array, offset: number): number {
  const kind = rng.int(SHAPE_CLASSES.length);
  const radius = size * (MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * rng.uniform());
  // Centre range lets up to ~15% of the shape leave the frame: mostly inside, but not always perfectly framed.
  const margin = 0.85 * radius;
  const cx = margin + (size - 2 * margin) * rng.uniform();
  const cy = margin + (size - 2 * margin) * rng.uniform();
  const tilt = (2 * rng.uniform() - 1) * MAX_TILT;
  const { background, foreground } = pickColours(rng);

  // Soft gradient: the background colour drifts by up to ±0.14 per channel along a random direction (40%: plain).
  const plain = rng.uniform() < 0.4;
  const angle = 2 * Math.PI * rng.uniform();
  const gradX = Math.cos(angle);
  const gradY = Math.sin(angle);
  const drift: Rgb = [0, 0, 0];
  for (let c = 0; c < 3; c++) drift[c] = plain ? 0 : 0.4 * (rng.uniform() - 0.5);

  const { sdf, reach } = shapeSdf(kind, radius);
  const reachSq = (reach + 1) * (reach + 1);
  const cos = Math.cos(tilt);
  const sin = Math.sin(tilt);
  const plane = size * size;
  for (let y = 0; y < size; y++) {
    const dy = y + 0.5 - cy;
    const gy = ((y + 0.5) / size - 0.5) * gradY;
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      let coverage = 0;
      if (dx * dx + dy * dy <= reachSq) {
        // Rotate into the shape's frame; pixel centres sit at half-integer coordinates.
        const d = sdf(cos * dx + sin * dy, -sin * dx + cos * dy);
        coverage = d <= -0.5 ? 1 : d >= 0.5 ? 0 : 0.5 - d;
      }
      const t = ((x + 0.5) / size - 0.5) * gradX + gy;
      const pixel = offset + y * size + x;
      for (let c = 0; c < 3; c++) {
        const bg = Math.min(1, Math.max(0, background[c] + t * drift[c]));
        const value = bg + coverage * (foreground[c] - bg);
        out[pixel + c * plane] = 2 * value - 1;
      }
    }
  }
  return kind;
}

export function createShapesDataset(imageSize: number): Dataset {
  if (!Number.isInteger(imageSize) || imageSize < MIN_IMAGE_SIZE) {
    throw new Error(`Built-in shapes need an integer image size of at least ${MIN_IMAGE_SIZE} px, got ${imageSize}; use e.g. 32 or 64.`);
  }
  return {
    kind: 'builtin',
    imageSize,
    numClasses: SHAPE_CLASSES.length,
    classNames: [...SHAPE_CLASSES],
    size: Infinity,
    batch(rng: Rng, batchSize: number): Batch {
      checkBatchSize(batchSize);
      const stride = 3 * imageSize * imageSize;
      const images = new Float32Array(batchSize * stride); // [B, 3, S, S]
      const labels = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) labels[i] = drawShape(rng, imageSize, images, i * stride);
      return { images, labels };
    },
    describe(): string {
      return `built-in shapes: ${SHAPE_CLASSES.length} classes, ${imageSize} px`;
    },
  };
}
