import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Rng } from '../../src/jit/random';
import { createShapesDataset, SHAPE_CLASSES } from '../../src/train/data/shapes';
import { loadFolderDataset } from '../../src/train/data/folder';
import { encodePng, toRgbBytes, unitToByte, writeImageGrid } from '../../src/io/png';

type Rgb = [number, number, number];

/** Pixel (x, y) of image b in an NCHW batch [B, 3, S, S], as bytes. */
function pixelAt(images: Float32Array, b: number, size: number, x: number, y: number): Rgb {
  const plane = size * size;
  const base = b * 3 * plane + y * size + x;
  return [unitToByte(images[base]), unitToByte(images[base + plane]), unitToByte(images[base + 2 * plane])];
}

function assertNear(actual: Rgb, expected: Rgb, tolerance: number, what: string): void {
  const ok = actual.every((v, c) => Math.abs(v - expected[c]) <= tolerance);
  assert.ok(ok, `${what}: got [${actual}], expected about [${expected}] (±${tolerance})`);
}

/** HWC bytes [h, w, 3] where fill(x, y) gives each pixel's colour. */
function rawImage(width: number, height: number, fill: (x: number, y: number) => Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fill(x, y), 3 * (y * width + x));
  return data;
}

function fromRaw(data: Buffer, width: number, height: number, channels: 3 | 4 = 3): sharp.Sharp {
  return sharp(data, { raw: { width, height, channels } });
}

function solid(width: number, height: number, colour: Rgb): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } });
}

describe('built-in shapes dataset', () => {
  it('is deterministic given the rng seed and state', () => {
    const ds = createShapesDataset(32);
    const a = ds.batch(new Rng(42), 16);
    const b = ds.batch(new Rng(42), 16);
    assert.deepStrictEqual(a.images, b.images);
    assert.deepStrictEqual(a.labels, b.labels);
    assert.notDeepStrictEqual(ds.batch(new Rng(43), 16).images, a.images);

    // A resumed rng (from a checkpoint's saved state) continues the exact same stream of batches.
    const rng = new Rng(7);
    ds.batch(rng, 3);
    const resumed = Rng.fromState(JSON.parse(JSON.stringify(rng.state())));
    assert.deepStrictEqual(resumed.state(), rng.state());
    assert.deepStrictEqual(ds.batch(resumed, 5).images, ds.batch(rng, 5).images);
  });

  for (const size of [32, 64]) {
    it(`draws valid ${size} px batches: values in [-1, 1], visible shapes, labels in range`, () => {
      const ds = createShapesDataset(size);
      assert.strictEqual(ds.kind, 'builtin');
      assert.strictEqual(ds.numClasses, 8);
      assert.deepStrictEqual(ds.classNames, SHAPE_CLASSES);
      assert.strictEqual(ds.size, Infinity);
      assert.strictEqual(ds.describe(), `built-in shapes: 8 classes, ${size} px`);
      const batchSize = 24;
      const { images, labels } = ds.batch(new Rng(size), batchSize);
      const stride = 3 * size * size;
      assert.strictEqual(images.length, batchSize * stride);
      assert.strictEqual(labels.length, batchSize);
      for (const v of images) assert.ok(v >= -1 && v <= 1, `value ${v} outside [-1, 1]`);
      for (const l of labels) assert.ok(l >= 0 && l < 8);
      for (let b = 0; b < batchSize; b++) {
        // The shape contrasts with the background, so some channel spans a wide range within the image.
        let widest = 0;
        for (let c = 0; c < 3; c++) {
          const channel = images.subarray(b * stride + c * size * size, b * stride + (c + 1) * size * size);
          let lo = Infinity;
          let hi = -Infinity;
          for (const v of channel) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
          widest = Math.max(widest, hi - lo);
        }
        assert.ok(widest > 0.5, `image ${b} (${SHAPE_CLASSES[labels[b]]}) is nearly constant (range ${widest})`);
      }
    });
  }

  it('produces every class over a few batches', () => {
    const ds = createShapesDataset(32);
    const rng = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) for (const l of ds.batch(rng, 32).labels) seen.add(l);
    assert.strictEqual(seen.size, SHAPE_CLASSES.length);
  });

  it('has anti-aliased edges: pixels part-way between background and shape exist', () => {
    const ds = createShapesDataset(32);
    const { images } = ds.batch(new Rng(5), 8);
    const bytes = new Set<number>();
    for (let i = 0; i < images.length; i += 7) bytes.add(unitToByte(images[i]));
    assert.ok(bytes.size > 100, `only ${bytes.size} distinct levels`);
  });

  it('rejects bad sizes with a clear message', () => {
    assert.throws(() => createShapesDataset(8), /at least 16 px/);
    assert.throws(() => createShapesDataset(32).batch(new Rng(0), 0), /Batch size must be a positive integer/);
  });
});

describe('image folder dataset', () => {
  let tmp: string;
  const BLUE: Rgb = [20, 40, 220];
  const YELLOW: Rgb = [230, 210, 30];
  const GREEN: Rgb = [30, 200, 60];
  const RED: Rgb = [220, 20, 20];
  const PURPLE: Rgb = [120, 30, 160];
  const WHITE: Rgb = [255, 255, 255];

  /** 60x20 image: a green middle 30 px wide between red 15 px borders, so a centre-crop to 20x20 is all green. */
  function wideWithRedBorders(): sharp.Sharp {
    return fromRaw(rawImage(60, 20, (x) => (x < 15 || x >= 45 ? RED : GREEN)), 60, 20);
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-data-test-'));
    const root = path.join(tmp, 'main');
    fs.mkdirSync(path.join(root, 'cats'), { recursive: true });
    fs.mkdirSync(path.join(root, 'dogs', 'nested'), { recursive: true });
    fs.mkdirSync(path.join(root, 'empty'));
    await solid(32, 32, BLUE).png().toFile(path.join(root, 'cats', 'a.png'));
    await solid(48, 30, YELLOW).jpeg({ quality: 95 }).toFile(path.join(root, 'cats', 'b.jpg'));
    await wideWithRedBorders().png().toFile(path.join(root, 'cats', 'wide.png'));
    fs.writeFileSync(path.join(root, 'cats', 'notes.txt'), 'not an image\n');
    const garbage = new Rng(9);
    fs.writeFileSync(path.join(root, 'cats', 'broken.png'), Uint8Array.from({ length: 300 }, () => garbage.int(256)));
    await solid(20, 40, PURPLE).webp({ lossless: true }).toFile(path.join(root, 'dogs', 'nested', 'c.webp'));
    // Fully transparent RGBA: must be flattened (onto white) to 3 channels.
    const rgba = Buffer.alloc(24 * 24 * 4);
    for (let i = 0; i < 24 * 24; i++) rgba.set([200, 0, 0, 0], 4 * i);
    await fromRaw(rgba, 24, 24, 4).png().toFile(path.join(root, 'dogs', 'd.png'));
    fs.writeFileSync(path.join(root, 'README.md'), '# top-level file, not in a class\n');
    fs.writeFileSync(path.join(root, '.DS_Store'), 'hidden');
    fs.writeFileSync(path.join(root, 'cats', '.hidden.png'), 'hidden');
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads classes, resizes every image and counts what it skipped', async () => {
    const progress: [number, number][] = [];
    const ds = await loadFolderDataset(path.join(tmp, 'main'), 16, { onProgress: (done, total) => progress.push([done, total]) });
    assert.strictEqual(ds.kind, 'folder');
    assert.deepStrictEqual(ds.classNames, ['cats', 'dogs']); // 'empty' has no images and is left out
    assert.strictEqual(ds.numClasses, 2);
    assert.strictEqual(ds.size, 5);
    assert.deepStrictEqual(ds.imagesPerClass, [3, 2]);
    assert.deepStrictEqual(progress[progress.length - 1], [6, 6]); // 6 image-like files were decoded or attempted

    const skipped = ds.skipped.map((s) => path.relative(ds.dir, s.file)).sort();
    assert.deepStrictEqual(skipped, ['README.md', path.join('cats', 'broken.png'), path.join('cats', 'notes.txt'), 'empty']);
    const reasonOf = (rel: string): string => ds.skipped.find((s) => path.relative(ds.dir, s.file) === rel)!.reason;
    assert.match(reasonOf(path.join('cats', 'broken.png')), /could not decode/);
    assert.match(reasonOf(path.join('cats', 'notes.txt')), /not a PNG, JPEG or WebP/);
    assert.strictEqual(ds.describe(), `folder ${ds.dir}: 5 images in 2 classes (4 files skipped)`);

    // Every drawn image is one of the known solid colours of its class (the wide one is green after cropping).
    const expected: Rgb[][] = [[BLUE, YELLOW, GREEN], [PURPLE, WHITE]];
    const { images, labels } = ds.batch(new Rng(1), 64);
    assert.strictEqual(images.length, 64 * 3 * 16 * 16);
    const seen = new Set<string>();
    for (let b = 0; b < 64; b++) {
      for (const [x, y] of [[0, 0], [15, 0], [8, 8], [0, 15], [15, 15]]) {
        const px = pixelAt(images, b, 16, x, y);
        const match = expected[labels[b]].findIndex((c) => c.every((v, i) => Math.abs(v - px[i]) <= 6));
        assert.ok(match >= 0, `image ${b} (class ${labels[b]}) pixel (${x},${y}) = [${px}] is not a colour of its class`);
        seen.add(`${labels[b]}:${match}`);
      }
    }
    assert.strictEqual(seen.size, 5, 'all five images were drawn');
  });

  it('centre-crops non-square images before resizing', async () => {
    const root = path.join(tmp, 'crop');
    fs.mkdirSync(path.join(root, 'only'), { recursive: true });
    await wideWithRedBorders().png().toFile(path.join(root, 'only', 'wide.png'));
    // A tall image with red bands at top and bottom: also cropped away.
    await fromRaw(rawImage(20, 60, (_, y) => (y < 15 || y >= 45 ? RED : GREEN)), 20, 60).png().toFile(path.join(root, 'only', 'tall.png'));
    const ds = await loadFolderDataset(root, 16);
    assert.strictEqual(ds.size, 2);
    const { images } = ds.batch(new Rng(0), 8);
    for (let b = 0; b < 8; b++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) assertNear(pixelAt(images, b, 16, x, y), GREEN, 8, `image ${b} pixel (${x},${y})`);
      }
    }
  });

  it('flips horizontally at random, deterministically from the rng', async () => {
    const root = path.join(tmp, 'flip');
    fs.mkdirSync(path.join(root, 'halves'), { recursive: true });
    await fromRaw(rawImage(32, 32, (x) => (x < 16 ? RED : BLUE)), 32, 32).png().toFile(path.join(root, 'halves', 'h.png'));

    const plain = await loadFolderDataset(root, 8);
    const unflipped = plain.batch(new Rng(3), 32).images;
    for (let b = 0; b < 32; b++) assertNear(pixelAt(unflipped, b, 8, 0, 4), RED, 4, `unflipped image ${b}`);

    const flipping = await loadFolderDataset(root, 8, { hflip: true });
    const a = flipping.batch(new Rng(3), 32).images;
    assert.deepStrictEqual(flipping.batch(new Rng(3), 32).images, a);
    let flips = 0;
    for (let b = 0; b < 32; b++) {
      const left = pixelAt(a, b, 8, 0, 4);
      const right = pixelAt(a, b, 8, 7, 4);
      const isFlipped = left[2] > left[0];
      if (isFlipped) flips++;
      assertNear(left, isFlipped ? BLUE : RED, 4, `image ${b} left edge`);
      assertNear(right, isFlipped ? RED : BLUE, 4, `image ${b} right edge`);
    }
    assert.ok(flips > 4 && flips < 28, `${flips} of 32 flipped`);
  });

  it('gives one clear sentence for a missing folder', async () => {
    await assert.rejects(loadFolderDataset(path.join(tmp, 'nope'), 16), (err: Error) => {
      assert.match(err.message, /does not exist/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  it('gives one clear sentence for a path that is a file', async () => {
    const file = path.join(tmp, 'file.png');
    fs.writeFileSync(file, 'x');
    await assert.rejects(loadFolderDataset(file, 16), /is a file, not a folder/);
  });

  it('explains the expected layout when there are no class subfolders', async () => {
    const root = path.join(tmp, 'flat');
    fs.mkdirSync(root);
    await solid(8, 8, RED).png().toFile(path.join(root, 'loose.png'));
    await assert.rejects(loadFolderDataset(root, 16), (err: Error) => {
      assert.match(err.message, /has no class subfolders/);
      assert.ok(err.message.includes('<folder>/<class>/<image>.png'));
      return true;
    });
    const empty = path.join(tmp, 'empty-root');
    fs.mkdirSync(empty);
    await assert.rejects(loadFolderDataset(empty, 16), /has no class subfolders/);
  });

  it('refuses a folder with no readable images', async () => {
    const root = path.join(tmp, 'junk');
    fs.mkdirSync(path.join(root, 'a'), { recursive: true });
    fs.mkdirSync(path.join(root, 'b'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a', 'readme.txt'), 'text');
    fs.writeFileSync(path.join(root, 'b', 'fake.jpg'), 'not really a jpeg');
    await assert.rejects(loadFolderDataset(root, 16), (err: Error) => {
      assert.match(err.message, /has no readable images/);
      assert.ok(err.message.includes('2 files skipped') && err.message.includes('fake.jpg'), err.message);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });
});

describe('PNG image grid', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'jit-png-test-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('converts floats to bytes with rounding and clipping', () => {
    assert.deepStrictEqual([-2, -1, 0, 0.5, 1, 3, NaN].map(unitToByte), [0, 0, 128, 191, 255, 255, 0]);
  });

  it('extracts one image as HWC bytes', () => {
    const size = 2;
    const images = new Float32Array(2 * 3 * size * size); // [2, 3, 2, 2]
    images.set([1, -1, -1, -1, /* G */ -1, 1, -1, -1, /* B */ -1, -1, 1, -1], 12); // image 1
    assert.deepStrictEqual(Array.from(toRgbBytes(images, 1, size)), [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0]);
    assert.throws(() => toRgbBytes(images, 2, size), /outside a buffer/);
  });

  it('encodes raw RGB as a PNG', async () => {
    const png = await encodePng(Uint8Array.from([255, 0, 0, 0, 0, 255]), 2, 1);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepStrictEqual([info.width, info.height, info.channels], [2, 1, 3]);
    assert.deepStrictEqual(Array.from(data), [255, 0, 0, 0, 0, 255]);
  });

  it('writes a padded, upscaled grid of 4 images atomically', async () => {
    const size = 4;
    const plane = size * size;
    const images = new Float32Array(4 * 3 * plane).fill(-1); // [4, 3, 4, 4], all black
    images[0] = images[plane] = images[2 * plane] = 1; // image 0: white top-left pixel
    images.fill(5, 3 * plane, 6 * plane); // image 1: white (clipped from 5)
    images.fill(1, 6 * plane, 7 * plane); // image 2: red
    images.fill(0.5, 9 * plane, 12 * plane); // image 3: light grey 191
    const file = path.join(tmp, 'sub', 'grid.png');
    await writeImageGrid(file, images, 4, size, { scale: 3 });

    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['grid.png']); // no temporary file left behind
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    // 2 columns x 2 rows of 12 px cells with 2 px padding between and around: 2*12 + 3*2 = 30.
    assert.deepStrictEqual([info.width, info.height, info.channels], [30, 30, 3]);
    const at = (x: number, y: number): number[] => Array.from(data.subarray(3 * (y * 30 + x), 3 * (y * 30 + x) + 3));
    assert.deepStrictEqual(at(0, 0), [128, 128, 128]); // padding
    assert.deepStrictEqual(at(15, 15), [128, 128, 128]); // padding between cells
    assert.deepStrictEqual(at(2, 2), [255, 255, 255]); // image 0 top-left pixel, upscaled 3x
    assert.deepStrictEqual(at(4, 4), [255, 255, 255]);
    assert.deepStrictEqual(at(5, 2), [0, 0, 0]);
    assert.deepStrictEqual(at(20, 5), [255, 255, 255]); // image 1
    assert.deepStrictEqual(at(5, 20), [255, 0, 0]); // image 2
    assert.deepStrictEqual(at(27, 27), [191, 191, 191]); // image 3
  });

  it('honours cols and pad, and leaves unused cells grey', async () => {
    const images = new Float32Array(3 * 3 * 2 * 2).fill(1); // [3, 3, 2, 2] white
    const file = path.join(tmp, 'row.png');
    await writeImageGrid(file, images, 3, 2, { cols: 2, pad: 1 });
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    assert.deepStrictEqual([info.width, info.height], [2 * 2 + 3, 2 * 2 + 3]);
    const at = (x: number, y: number): number => data[3 * (y * info.width + x)];
    assert.strictEqual(at(1, 4), 255); // image 2, second row
    assert.strictEqual(at(4, 4), 128); // empty fourth cell
  });
});
