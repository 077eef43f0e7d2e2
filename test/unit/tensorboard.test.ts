// TensorBoard event files: masked CRC32C against published vectors, the files this project writes read back by
// its own streaming reader and by an independent one (Google's protobuf in Python), a torn last record, a file that
// grows while it is read, and hostile files: damaged records are skipped and counted, absurd lengths are never
// allocated, and a 1 GB file is read in bounded memory.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { crc32c } from '@aws-crypto/crc32c';
import { encodePng } from '../../src/io/png';
import { DecodedEvent, encodeEvent } from '../../src/io/tensorboard/proto';
import { EventFileReader, EventLogReader, readScalars } from '../../src/io/tensorboard/reader';
import { encodeRecord, maskedCrc32c } from '../../src/io/tensorboard/records';
import { RunEventLog, recordScalars } from '../../src/io/tensorboard/runLog';
import { EventFileWriter } from '../../src/io/tensorboard/writer';
import { tempDir } from './helpers';
import { pythonWith, runPython } from './python';

const ROOT = path.join(__dirname, '..', '..');
const f32 = (x: number) => Math.fround(x);

async function readAll(file: string, opts = {}): Promise<{ events: DecodedEvent[]; reader: EventFileReader }> {
  const reader = new EventFileReader(file, opts);
  const events: DecodedEvent[] = [];
  await reader.read((e) => events.push(e));
  return { events, reader };
}

/** A file of `n` scalar events (train_loss = step / 10 at steps 1..n) written record by record. */
function writeScalarFile(file: string, n: number): Buffer[] {
  const records = [encodeRecord(encodeEvent({ wallTime: 1, fileVersion: 'brain.Event:2' }))];
  for (let s = 1; s <= n; s++) records.push(encodeRecord(encodeEvent({ wallTime: 1 + s, step: s, scalars: [{ tag: 'train_loss', value: s / 10 }] })));
  fs.writeFileSync(file, Buffer.concat(records));
  return records;
}

const losses = (events: DecodedEvent[]) => events.flatMap((e) => e.scalars.filter((s) => s.tag === 'train_loss').map((s) => [e.step, s.value]));

describe('TensorBoard event files', () => {
  const dir = tempDir('jit-tb-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('computes CRC32C and its mask as published', () => {
    // RFC 3720 (iSCSI) appendix B.4, and the CRC catalogue's check value of "123456789"
    assert.strictEqual(crc32c(new Uint8Array(32)) >>> 0, 0x8a9136aa);
    assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)) >>> 0, 0x62a8ab43);
    assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)) >>> 0, 0x46dd794e);
    assert.strictEqual(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)) >>> 0, 0x113fdb5c);
    assert.strictEqual(crc32c(Buffer.from('123456789')) >>> 0, 0xe3069283);
    // The mask is rotate-right-15 plus 0xa282ead8: every TensorBoard file starts with the 12 header bytes
    // 18 00 00 00 00 00 00 00 a3 7f 4b 22 (a 24-byte file-version event).
    assert.strictEqual(maskedCrc32c(Buffer.from([0x18, 0, 0, 0, 0, 0, 0, 0])), 0x224b7fa3);
    const x = crc32c(Buffer.from('foo')) >>> 0;
    const m = maskedCrc32c(Buffer.from('foo'));
    assert.notStrictEqual(m, x);
    const unmasked = (((m - 0xa282ead8) >>> 0) >>> 17 | ((m - 0xa282ead8) << 15)) >>> 0;
    assert.strictEqual(unmasked, x);
  });

  it('writes a run log that its reader and an independent reader read back exactly', async function () {
    const run = path.join(dir, 'run');
    const grid = path.join(dir, 'grid.png');
    fs.writeFileSync(grid, await encodePng(new Uint8Array(12 * 8 * 3).fill(200), 12, 8));
    const log = RunEventLog.open(run);
    const records = [1, 2, 3].map((step) => ({ step, loss: 1 / step, lr: 1e-4 * step, gradNorm: 2.5, imagesPerSec: 17, seconds: step, imagesSeen: 32 * step, lossByT: [0.5, null, 0.25], rssMB: 300, fd: 12.5, classAccuracy: 0.75, fdFloor: Number.NaN }));
    for (const r of records) log.step(r);
    log.grid(3, grid);
    log.close();
    const file = log.file;
    assert.match(path.basename(file), /^events\.out\.tfevents\.\d{10}\.[^.]+(\.[^.]+)*\.\d+\.\d+$/);
    assert.deepStrictEqual([...fs.readFileSync(file).subarray(0, 12)], [0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22], 'the file-version record is byte-identical to TensorFlow\'s');

    const { events, reader } = await readAll(file);
    assert.strictEqual(reader.stats.corrupt, 0);
    assert.strictEqual(reader.stats.tornBytes, 0);
    assert.strictEqual(events[0].fileVersion, 'brain.Event:2');
    const { series } = await readScalars(run);
    assert.deepStrictEqual(series.train_loss, records.map((r) => [r.step, f32(r.loss)]));
    assert.deepStrictEqual(series.lr, records.map((r) => [r.step, f32(r.lr)]));
    for (const tag of ['gradNorm', 'imagesPerSec', 'rssMB', 'fd', 'classAccuracy', 'seconds', 'imagesSeen']) assert.strictEqual(series[tag]?.length, 3, tag);
    assert.deepStrictEqual(series['lossByT/t0.0-0.3'], [[1, 0.5], [2, 0.5], [3, 0.5]]);
    assert.ok(!('lossByT/t0.3-0.7' in series), 'an empty t-bucket writes nothing');
    assert.ok(!('fdFloor' in series) && !('step' in series) && !('loss' in series));
    const images = events.flatMap((e) => e.images.map((i) => ({ ...i, step: e.step })));
    assert.strictEqual(images.length, 1);
    assert.deepStrictEqual([images[0].tag, images[0].step, images[0].width, images[0].height], ['samples', 3, 12, 8]);
    assert.ok(Buffer.from(images[0].png).equals(fs.readFileSync(grid)));

    const py = pythonWith(this, ['google.protobuf'], 'python3-protobuf');
    const independent = JSON.parse(runPython(py, 'read_events.py', [file]));
    assert.strictEqual(independent.version, 'brain.Event:2');
    assert.deepStrictEqual(independent.scalars.train_loss, series.train_loss);
    assert.deepStrictEqual(Object.keys(independent.scalars).sort(), Object.keys(series).sort());
    assert.deepStrictEqual(independent.images, [['samples', 3, 12, 8, fs.statSync(grid).size, true]]);
  });

  it('jit scalars prints every series of a run folder, an events file or a folder without events', () => {
    const jit = (...args: string[]) => spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src', 'cli', 'main.ts'), 'scalars', ...args], { cwd: ROOT, encoding: 'utf8' });
    const run = path.join(dir, 'cli-run');
    const w = EventFileWriter.create(run);
    w.scalars(100, [{ tag: 'train_loss', value: 0.5 }, { tag: 'lr', value: 2e-4 }]);
    w.scalars(200, [{ tag: 'train_loss', value: 0.25 }]);
    w.close();
    fs.appendFileSync(w.file, encodeRecord(encodeEvent({ wallTime: 9, step: 300, scalars: [{ tag: 'train_loss', value: 0.125 }] })).subarray(0, 20));
    const json = jit(run, '--json');
    assert.strictEqual(json.status, 0, json.stderr);
    assert.deepStrictEqual(JSON.parse(json.stdout), { train_loss: [[100, 0.5], [200, 0.25]], lr: [[100, f32(2e-4)]] });
    assert.match(json.stderr, /last 20 bytes are not a whole record yet/);
    const text = jit(w.file);
    assert.strictEqual(text.status, 0, text.stderr);
    assert.match(text.stdout, /^1 event file, 3 events\ntrain_loss \(2 points\)\n  100\t0\.5\n  200\t0\.25\nlr \(1 points\)\n  100\t0\.0002\n$/);
    const empty = path.join(dir, 'no-events');
    fs.mkdirSync(empty);
    const none = jit(empty);
    assert.notStrictEqual(none.status, 0);
    assert.match(none.stderr, /holds no TensorBoard event files/);
  });

  it('names every numeric field of a step record as a scalar, the official ones under the official tags', () => {
    const tags = recordScalars({ step: 5, loss: 0.3, lr: 1e-3, seam: 0.01, precision: 0.5, note: 'text', nested: { a: 1 } }).map((s) => s.tag);
    assert.deepStrictEqual(tags, ['train_loss', 'lr', 'seam', 'precision']);
  });

  it('waits at a torn last record and reads it once the rest is written', async () => {
    const file = path.join(dir, 'torn.tfevents');
    const records = writeScalarFile(file, 5);
    const full = fs.readFileSync(file);
    const cut = full.length - records[5].length + 7; // inside the last record's header... then inside its data
    for (const at of [cut, full.length - 3]) {
      fs.writeFileSync(file, full.subarray(0, at));
      const reader = new EventFileReader(file);
      const events: DecodedEvent[] = [];
      await reader.read((e) => events.push(e));
      assert.deepStrictEqual(losses(events).map(([s]) => s), [1, 2, 3, 4]);
      assert.strictEqual(reader.stats.corrupt, 0, 'a torn record is not damage');
      assert.strictEqual(reader.stats.tornBytes, at - (full.length - records[5].length));
      fs.appendFileSync(file, full.subarray(at));
      await reader.read((e) => events.push(e));
      assert.deepStrictEqual(losses(events).map(([s]) => s), [1, 2, 3, 4, 5]);
      assert.strictEqual(reader.stats.tornBytes, 0);
    }
  });

  it('follows a file that grows while it is read, in chunks smaller than a record', async () => {
    const file = path.join(dir, 'growing', 'events.out.tfevents.1.host.1.0');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const all = writeScalarFile(path.join(dir, 'growing-src'), 40);
    const bytes = Buffer.concat(all);
    fs.writeFileSync(file, '');
    const reader = new EventFileReader(file, { chunkBytes: 7 });
    const events: DecodedEvent[] = [];
    const rng = fc.sample(fc.integer({ min: 1, max: 90 }), 200);
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const next = Math.min(bytes.length, at + rng[i % rng.length]);
      fs.appendFileSync(file, bytes.subarray(at, next));
      at = next;
      await reader.read((e) => events.push(e));
    }
    assert.deepStrictEqual(losses(events), Array.from({ length: 40 }, (_, i) => [i + 1, f32((i + 1) / 10)]));
    assert.strictEqual(reader.stats.corrupt, 0);
    // a second writer in the same folder (a resumed run) joins the log; a replaced file starts over
    const log = new EventLogReader(path.dirname(file));
    let n = 0;
    await log.read(() => n++);
    const w = EventFileWriter.create(path.dirname(file));
    w.scalars(41, [{ tag: 'train_loss', value: 4.1 }]);
    w.close();
    const later: DecodedEvent[] = [];
    assert.deepStrictEqual(await log.read((e) => later.push(e)), { reset: false });
    assert.deepStrictEqual(losses(later), [[41, f32(4.1)]]);
    fs.writeFileSync(file, Buffer.concat(all.slice(0, 3)));
    const again: DecodedEvent[] = [];
    assert.deepStrictEqual(await log.read((e) => again.push(e)), { reset: true });
    assert.deepStrictEqual(losses(again).map(([s]) => s), [1, 2]);
    assert.strictEqual(n, 41);
  });

  it('skips a damaged record with a count and reads everything after it', async () => {
    const file = path.join(dir, 'damaged.tfevents');
    const records = writeScalarFile(file, 10);
    const full = fs.readFileSync(file);
    const startOf = (k: number) => records.slice(0, k).reduce((n, r) => n + r.length, 0);
    const cases: [string, (b: Buffer) => void, string][] = [
      ['a flipped data byte', (b) => { b[startOf(4) + 14] ^= 0x40; }, 'data fails its checksum'],
      ['a wrong data checksum', (b) => { b[startOf(4) + records[4].length - 1] ^= 1; }, 'data fails its checksum'],
      ['a flipped length byte', (b) => { b[startOf(4)] ^= 0x01; }, 'damaged record header'],
      ['a wrong header checksum', (b) => { b[startOf(4) + 9] ^= 0xff; }, 'damaged record header'],
    ];
    for (const [what, damage, reason] of cases) {
      const b = Buffer.from(full);
      damage(b);
      fs.writeFileSync(file, b);
      const { events, reader } = await readAll(file);
      assert.deepStrictEqual(losses(events).map(([s]) => s), [1, 2, 3, 5, 6, 7, 8, 9, 10], what);
      assert.strictEqual(reader.stats.corrupt, 1, what);
      assert.match(reader.stats.firstDamage!, new RegExp(reason), what);
    }
    // a record whose framing is sound but whose bytes are no Event
    fs.writeFileSync(file, Buffer.concat([records[1], encodeRecord(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), records[2]]));
    const { events, reader } = await readAll(file);
    assert.deepStrictEqual(losses(events).map(([s]) => s), [1, 2]);
    assert.strictEqual(reader.stats.corrupt, 1);
  });

  it('never allocates an absurd or oversized length, and survives any damage without throwing', async () => {
    const file = path.join(dir, 'hostile.tfevents');
    const records = writeScalarFile(file, 3);
    const header = (length: bigint) => {
      const h = Buffer.alloc(12);
      h.writeBigUInt64LE(length);
      h.writeUInt32LE(maskedCrc32c(h.subarray(0, 8)), 8);
      return h;
    };
    // valid header checksums over lengths of 2^62 and 1 GiB, then a record larger than the limit
    fs.writeFileSync(file, Buffer.concat([records[1], header(1n << 62n), records[2], header(1n << 30n), Buffer.alloc(100), records[3]]));
    let r = await readAll(file, { maxRecordBytes: 1 << 20 });
    assert.deepStrictEqual(losses(r.events).map(([s]) => s), [1, 2, 3]);
    assert.strictEqual(r.reader.stats.corrupt, 2);
    assert.match(r.reader.stats.firstDamage!, /absurd record length/);
    const big = encodeRecord(encodeEvent({ wallTime: 0, step: 9, images: [{ tag: 'x', width: 1, height: 1, png: new Uint8Array(5000) }] }));
    fs.writeFileSync(file, Buffer.concat([records[1], big, records[2]]));
    r = await readAll(file, { maxRecordBytes: 4096 });
    assert.deepStrictEqual(losses(r.events).map(([s]) => s), [1, 2]);
    assert.strictEqual(r.reader.stats.corrupt, 1);
    // a file of a few bytes, and one of garbage
    fs.writeFileSync(file, Buffer.from([1, 2, 3, 4, 5]));
    r = await readAll(file);
    assert.deepStrictEqual([r.events.length, r.reader.stats.corrupt, r.reader.stats.tornBytes], [0, 0, 5]);

    const full = Buffer.concat(records);
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.nat(full.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 64 }), async (flips, chunkBytes) => {
      const b = Buffer.from(full);
      for (const [at, x] of flips) b[at] ^= x;
      fs.writeFileSync(file, b);
      const got = await readAll(file, { chunkBytes });
      // every record before the first damaged byte is read intact
      const firstDamaged = Math.min(...flips.map(([at]) => at));
      const intact = records.filter((_, k) => records.slice(0, k + 1).reduce((n, x) => n + x.length, 0) <= firstDamaged).length - 1;
      assert.ok(losses(got.events).length >= Math.max(0, intact));
      assert.ok(got.reader.stats.corrupt >= 1 || got.reader.stats.tornBytes > 0 || losses(got.events).length === 3);
    }), { numRuns: 150 });
  });

  it('reads a 1 GB events file in bounded memory, past a gigabyte of damage', async function () {
    const file = path.join(dir, 'events.out.tfevents.0000000001.big.1.0');
    const records = writeScalarFile(file, 3);
    const tail = Buffer.concat([4, 5].map((s) => encodeRecord(encodeEvent({ wallTime: s, step: s, scalars: [{ tag: 'train_loss', value: s / 10 }] }))));
    const size = 1 << 30;
    // Sparse: the file system stores the records, not the gigabyte of zeros between them.
    fs.truncateSync(file, size);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, tail, 0, tail.length, size);
    fs.closeSync(fd);
    assert.ok(fs.statSync(file).size > size);
    // In a child process, so that its memory is its own. Its resident memory is sampled while it reads (the
    // reader awaits every chunk, so the timer runs between them): maxRSS would not do, as Linux carries the high-water
    // mark across fork and exec, and a child of a mocha process that has run many suites starts at the parent's peak.
    const script = `
      const { readScalars } = require(${JSON.stringify(path.join(ROOT, 'src', 'io', 'tensorboard', 'reader.ts'))});
      let peak = process.memoryUsage().rss;
      const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2);
      readScalars(${JSON.stringify(file)}).then((r) => {
        clearInterval(timer);
        peak = Math.max(peak, process.memoryUsage().rss);
        console.log(JSON.stringify({ series: r.series, stats: r.stats, peakMB: peak / 2 ** 20 }));
      });`;
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepStrictEqual(out.series.train_loss.map((p: number[]) => p[0]), [1, 2, 3, 4, 5]);
    assert.strictEqual(out.stats.corrupt, 1, 'the zeros are one damaged stretch');
    assert.ok(out.peakMB < 200, `peak memory ${out.peakMB} MB while reading a 1 GB file`);
    void records;
  });
});
