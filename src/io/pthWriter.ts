// Writes PyTorch checkpoints in torch.save's zip format, the counterpart of pth.ts: one top folder holding
// data.pkl (the pickle), byteorder, data/<key> (each storage's raw little-endian elements) and version. Entries
// are stored uncompressed with each storage's data aligned to 64 bytes (padding in an extra field, as torch
// does, so torch.load(mmap=True) can map them), and ZIP64 records where sizes or offsets pass 4 GiB (a JiT-L
// checkpoint with its EMA copies and AdamW moments is ~9 GB). The file is written atomically.
import * as os from 'os';
import * as zlib from 'zlib';
import { writeAll, writeFileAtomicWith } from './atomic';
import { Picklable, TensorOut, pickleCheckpoint } from './pickleWriter';

const ALIGNMENT = 64;
const MAX_U32 = 0xffffffff;
/** torch's serialization format version (what torch.save has written since 1.6). */
const FORMAT_VERSION = '3\n';

export interface PthWriteOptions {
  /** The archive's top folder (torch uses the file's stem, or "archive"). */
  prefix?: string;
  /** ZIP64 records only where needed (default), or on every entry (to test readers on them). */
  zip64?: 'auto' | 'always';
}

interface Entry {
  name: Buffer;
  data: Uint8Array;
  crc: number;
  offset: number;
  zip64: boolean;
}

function crc32(data: Uint8Array): number {
  if (typeof zlib.crc32 !== 'function') throw new Error('Writing a .pth needs Node.js 20.15 or newer (zlib.crc32).');
  return zlib.crc32(data) >>> 0;
}

function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

function tensorBytes(t: TensorOut): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Writes `root` (tensors included) as a checkpoint torch.load reads. Returns the file's size in bytes. */
export function writePth(file: string, root: Picklable, opts: PthWriteOptions = {}): number {
  if (os.endianness() !== 'LE') throw new Error('Writing a .pth is supported on little-endian machines only.');
  const prefix = opts.prefix ?? 'archive';
  const always = opts.zip64 === 'always';
  const { pickle, storages } = pickleCheckpoint(root);
  const records: [string, Uint8Array][] = [
    ['data.pkl', pickle],
    ['byteorder', Buffer.from('little')],
    ...storages.map((t, i): [string, Uint8Array] => [`data/${i}`, tensorBytes(t)]),
    ['version', Buffer.from(FORMAT_VERSION)],
  ];
  let size = 0;
  writeFileAtomicWith(file, (fd) => {
    let offset = 0;
    const put = (b: Uint8Array) => {
      writeAll(fd, b);
      offset += b.length;
    };
    const entries: Entry[] = [];
    for (const [name, data] of records) {
      const e: Entry = { name: Buffer.from(`${prefix}/${name}`, 'utf8'), data, crc: crc32(data), offset, zip64: always || data.length >= MAX_U32 || offset >= MAX_U32 };
      const zip64Extra = e.zip64 ? Buffer.concat([Buffer.from([0x01, 0x00, 16, 0x00]), u64(data.length), u64(data.length)]) : Buffer.alloc(0);
      // An extra field of id "FB" pads the header so that the data starts on a 64-byte boundary.
      const unpadded = offset + 30 + e.name.length + zip64Extra.length + 4;
      const pad = (ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT;
      const padExtra = Buffer.alloc(4 + pad);
      padExtra.write('FB', 0, 'latin1');
      padExtra.writeUInt16LE(pad, 2);
      const extra = Buffer.concat([zip64Extra, padExtra]);
      const h = Buffer.alloc(30);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(e.zip64 ? 45 : 20, 4); // version needed to extract
      h.writeUInt16LE(0, 6); // flags
      h.writeUInt16LE(0, 8); // stored
      h.writeUInt32LE(0, 10); // time, date
      h.writeUInt32LE(e.crc, 14);
      h.writeUInt32LE(e.zip64 ? MAX_U32 : data.length, 18);
      h.writeUInt32LE(e.zip64 ? MAX_U32 : data.length, 22);
      h.writeUInt16LE(e.name.length, 26);
      h.writeUInt16LE(extra.length, 28);
      put(h);
      put(e.name);
      put(extra);
      put(data);
      entries.push(e);
    }
    const cdStart = offset;
    for (const e of entries) {
      const extra = e.zip64 ? Buffer.concat([Buffer.from([0x01, 0x00, 24, 0x00]), u64(e.data.length), u64(e.data.length), u64(e.offset)]) : Buffer.alloc(0);
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0);
      h.writeUInt16LE(45, 4); // version made by
      h.writeUInt16LE(e.zip64 ? 45 : 20, 6);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(e.zip64 ? MAX_U32 : e.data.length, 20);
      h.writeUInt32LE(e.zip64 ? MAX_U32 : e.data.length, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt16LE(extra.length, 30);
      h.writeUInt32LE(e.zip64 ? MAX_U32 : e.offset, 42);
      put(h);
      put(e.name);
      put(extra);
    }
    const cdSize = offset - cdStart;
    const zip64End = always || entries.length >= 0xffff || cdStart >= MAX_U32 || cdSize >= MAX_U32;
    if (zip64End) {
      const recordStart = offset;
      const r = Buffer.alloc(56);
      r.writeUInt32LE(0x06064b50, 0);
      r.writeBigUInt64LE(44n, 4); // size of the rest of this record
      r.writeUInt16LE(45, 12);
      r.writeUInt16LE(45, 14);
      r.writeBigUInt64LE(BigInt(entries.length), 24);
      r.writeBigUInt64LE(BigInt(entries.length), 32);
      r.writeBigUInt64LE(BigInt(cdSize), 40);
      r.writeBigUInt64LE(BigInt(cdStart), 48);
      put(r);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(recordStart), 8);
      locator.writeUInt32LE(1, 16);
      put(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(zip64End ? 0xffff : entries.length, 8);
    end.writeUInt16LE(zip64End ? 0xffff : entries.length, 10);
    end.writeUInt32LE(zip64End ? MAX_U32 : cdSize, 12);
    end.writeUInt32LE(zip64End ? MAX_U32 : cdStart, 16);
    put(end);
    size = offset;
  });
  return size;
}
