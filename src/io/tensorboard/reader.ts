// Streaming readers of TensorBoard event files. A file is read in bounded chunks from where the last read
// stopped, so a file being written is followed as it grows and a huge one is never held in memory; a torn last
// record waits for its remaining bytes; a damaged record is skipped and counted, never fatal. A folder's event
// files are read as one log in name order (the names start with the creation time), as TensorBoard does.
import * as fs from 'fs';
import * as path from 'path';
import { DecodedEvent, decodeEvent } from './proto';
import { MAX_RECORD_BYTES, scanRecord } from './records';
import { EVENTS_FILE_RE } from './writer';

export interface ReadStats {
  /** Events decoded so far. */
  events: number;
  /** Damaged stretches skipped (a bad checksum, an absurd length, bytes that are no event). */
  corrupt: number;
  /** What the first damage was, for a message. */
  firstDamage?: string;
  /** Bytes at the end that do not yet form a whole record (a file still being written, or cut off). */
  tornBytes: number;
}

export interface ReaderOptions {
  chunkBytes?: number;
  maxRecordBytes?: number;
}

export class EventFileReader {
  /** File offset of the first byte of `pending`. */
  private offset = 0;
  private pending = Buffer.alloc(0);
  /** After a damaged header, until the next good record: the damage is counted once. */
  private resyncing = false;
  private plugins = new Map<string, string>();
  stats: ReadStats = { events: 0, corrupt: 0, tornBytes: 0 };
  private readonly chunkBytes: number;
  private readonly maxRecordBytes: number;

  constructor(readonly file: string, opts: ReaderOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    this.maxRecordBytes = opts.maxRecordBytes ?? MAX_RECORD_BYTES;
  }

  /**
   * The events written since the last call, each handed to `onEvent` as it is decoded (and not kept here).
   * Returns `reset: true` when the file shrank since the last call (replaced or truncated): it is read again
   * from its start and what was read before no longer holds.
   */
  async read(onEvent: (e: DecodedEvent) => void): Promise<{ reset: boolean }> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { reset: false }; // not there (yet, or any more)
      throw e;
    }
    try {
      const size = (await fh.stat()).size;
      let reset = false;
      if (size < this.offset + this.pending.length) {
        reset = true;
        this.offset = 0;
        this.pending = Buffer.alloc(0);
        this.resyncing = false;
        this.plugins = new Map();
        this.stats = { events: 0, corrupt: 0, tornBytes: 0 };
      }
      let pos = this.offset + this.pending.length;
      // One work buffer for the whole call: the unread remainder moves to its front and the next chunk is read in
      // after it, so a long file costs one chunk of memory, not a garbage chunk per read (a 1 GB file peaked at
      // 600 MB before the collector caught up). It grows only for a record larger than a chunk.
      let work = Buffer.allocUnsafe(Math.min(this.chunkBytes, Math.max(1, size - pos)) + this.pending.length);
      let window = Buffer.from(this.pending);
      while (pos < size) {
        const want = Math.min(this.chunkBytes, size - pos);
        if (work.length < window.length + want) {
          const grown = Buffer.allocUnsafe(window.length + want);
          window.copy(grown, 0);
          work = grown;
        } else {
          window.copy(work, 0); // overlapping moves are safe: copy is a memmove
        }
        const { bytesRead } = await fh.read(work, window.length, want, pos);
        if (bytesRead === 0) break; // truncated between stat and read: the next call sees it
        pos += bytesRead;
        window = work.subarray(0, window.length + bytesRead);
        window = window.subarray(this.consume(window, onEvent));
      }
      // Copy the remainder so the work buffer is not kept alive between calls.
      this.pending = Buffer.from(window);
      this.stats.tornBytes = this.pending.length;
      return { reset };
    } finally {
      await fh.close();
    }
  }

  /** Decodes every whole record of `window` (the bytes from `offset` on); returns how many bytes it used. */
  private consume(window: Buffer, onEvent: (e: DecodedEvent) => void): number {
    let at = 0;
    for (;;) {
      const r = scanRecord(window, at, this.maxRecordBytes);
      if (r.kind === 'incomplete') break;
      if (r.kind === 'corrupt') {
        if (!this.resyncing) this.damage(r.reason);
        // Past a bad data checksum the next record starts right after it; past a bad header, a search follows.
        this.resyncing = r.reason !== 'a record whose data fails its checksum';
        at = r.next;
        continue;
      }
      this.resyncing = false;
      at = r.next;
      let event: DecodedEvent;
      try {
        event = decodeEvent(r.data, this.plugins);
      } catch {
        this.damage('a record that holds no TensorBoard event');
        continue;
      }
      this.stats.events++;
      onEvent(event);
    }
    this.offset += at;
    return at;
  }

  private damage(reason: string): void {
    this.stats.corrupt++;
    this.stats.firstDamage ??= `${reason} near byte ${this.offset}`;
  }
}

/** The event files directly inside a folder, in name (= creation time) order. */
export function listEventFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => EVENTS_FILE_RE.test(n)).sort().map((n) => path.join(dir, n)).filter((f) => {
    try {
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

/** A folder's event files read as one growing log; files that appear later join it. */
export class EventLogReader {
  private readers = new Map<string, EventFileReader>();

  constructor(readonly dir: string, private readonly opts: ReaderOptions = {}) {}

  /** New events of every file, file by file in name order. `reset` as for one file: start over. */
  async read(onEvent: (e: DecodedEvent, file: string) => void): Promise<{ reset: boolean }> {
    const files = listEventFiles(this.dir);
    let reset = [...this.readers.keys()].some((f) => !files.includes(f));
    for (const f of files) if (!this.readers.has(f)) this.readers.set(f, new EventFileReader(f, this.opts));
    for (const f of [...this.readers.keys()]) if (!files.includes(f)) this.readers.delete(f);
    for (const f of files) {
      const r = await this.readers.get(f)!.read((e) => onEvent(e, f));
      reset ||= r.reset;
    }
    return { reset };
  }

  get stats(): ReadStats {
    const all = [...this.readers.values()].map((r) => r.stats);
    return {
      events: all.reduce((n, s) => n + s.events, 0),
      corrupt: all.reduce((n, s) => n + s.corrupt, 0),
      firstDamage: all.find((s) => s.firstDamage)?.firstDamage,
      tornBytes: all.reduce((n, s) => n + s.tornBytes, 0),
    };
  }
}

/** Every scalar series: tag -> [step, value] in the order written. */
export type ScalarSeries = Record<string, [number, number][]>;

/**
 * Reads the scalars of a run folder (this project's or an official output_dir), or of one event file.
 * Throws if there is no event file there.
 */
export async function readScalars(target: string, opts: ReaderOptions = {}): Promise<{ series: ScalarSeries; files: string[]; stats: ReadStats }> {
  const st = fs.statSync(target);
  const series: ScalarSeries = {};
  const add = (e: DecodedEvent) => {
    for (const s of e.scalars) (series[s.tag] ??= []).push([e.step, s.value]);
  };
  if (st.isFile()) {
    const r = new EventFileReader(target, opts);
    await r.read(add);
    return { series, files: [target], stats: r.stats };
  }
  const files = listEventFiles(target);
  if (!files.length) throw new Error(`${target} holds no TensorBoard event files (events.out.tfevents.*).`);
  const log = new EventLogReader(target, opts);
  await log.read(add);
  return { series, files, stats: log.stats };
}
