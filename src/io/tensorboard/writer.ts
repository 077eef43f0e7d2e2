// Writes a TensorBoard event file (events.out.tfevents.<time>.<host>.<pid>.<n>, named like TensorBoard's own
// writer names it) so `tensorboard --logdir` and tools that sync TensorBoard logs read a run of this project.
// Each event is one record written with one append, so a reader sees whole records or a torn last one, never a
// mix; a new writer (a resumed run) starts a new file beside the earlier ones, as TensorBoard expects.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FILE_VERSION, ImageValue, ScalarValue, encodeEvent } from './proto';
import { encodeRecord } from './records';

export const EVENTS_FILE_RE = /^events\.out\.tfevents\./;

let uid = 0;

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const b = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') throw new Error('An image summary needs a PNG; this is not one.');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

export class EventFileWriter {
  private fd: number | undefined;

  private constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
    this.write({ wallTime: Date.now() / 1000, fileVersion: FILE_VERSION });
  }

  /** A new event file in `dir` (created if needed). */
  static create(dir: string): EventFileWriter {
    fs.mkdirSync(dir, { recursive: true });
    const secs = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
    const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'localhost';
    let file: string;
    // The counter is zero-padded so that files of one process made in the same second sort in creation order.
    do file = path.join(dir, `events.out.tfevents.${secs}.${host}.${process.pid}.${String(uid++).padStart(6, '0')}`);
    while (fs.existsSync(file));
    return new EventFileWriter(file);
  }

  private write(e: Parameters<typeof encodeEvent>[0]): void {
    if (this.fd === undefined) throw new Error(`The event file ${path.basename(this.file)} is closed.`);
    fs.writeSync(this.fd, encodeRecord(encodeEvent(e)));
  }

  /** Scalars of one step, in one event. Non-finite values are left out (TensorBoard cannot plot them). */
  scalars(step: number, values: ScalarValue[], wallTime = Date.now() / 1000): void {
    const finite = values.filter((v) => Number.isFinite(v.value));
    if (finite.length) this.write({ wallTime, step, scalars: finite });
  }

  image(step: number, image: ImageValue, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, images: [image] });
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
