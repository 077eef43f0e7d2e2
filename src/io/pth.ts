// PyTorch checkpoints (.pth) as torch.save writes them since torch 1.6: a zip whose single top folder (its name
// varies: "archive", or the file's stem) holds data.pkl (the pickled object), data/<key> (one entry per storage,
// raw little-endian elements) and a version record; torch 2.x adds .data/version and a byteorder entry. The pickle
// is read with the restricted unpickler, so a hostile file is refused before anything could run; tensor data stays
// in the zip and is read by byte range on demand.
import * as fs from 'fs';
import * as path from 'path';
import { DTYPE_BYTES, toFloat32 } from './safetensors';
import { PickleError, PickleValue, PyDict, PyGlobal, PyNamespace, PyTuple, TorchStorage, TorchTensor, torchStorageLoader, unpickle } from './pickle';

export class PthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PthError';
  }
}

// yauzl ships no type declarations; these are the parts used here.
interface ZipEntry {
  fileName: string;
  uncompressedSize: number;
  compressedSize: number;
  compressionMethod: number;
  isEncrypted(): boolean;
}
interface ZipFile {
  eachEntry(): AsyncIterable<ZipEntry>;
  openReadStreamPromise(entry: ZipEntry, options?: { decodeFileData?: boolean; start?: number; end?: number }): Promise<NodeJS.ReadableStream>;
  close(): void;
}
interface Yauzl {
  openPromise(file: string, options: { lazyEntries: boolean; autoClose: boolean; strictFileNames: boolean; validateEntrySizes: boolean }): Promise<ZipFile>;
}
const yauzl: Yauzl = require('yauzl');

/** data.pkl of a state-dict checkpoint is kilobytes to a few megabytes; anything near this is not a checkpoint. */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
/** Small text records (version, byteorder). */
const MAX_RECORD_BYTES = 64;

export interface PthLayout {
  /** The archive's top folder. */
  prefix: string;
  /** Contents of <prefix>/version (the serialization format version), if present. */
  version?: string;
  /** Contents of <prefix>/.data/version (torch 2.x), if present. */
  dataVersion?: string;
  /** From <prefix>/byteorder (torch 2.x); older files are little-endian. */
  byteOrder: 'little' | 'big';
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads exactly `size` bytes from a stream; more or fewer is an error. */
async function readStream(stream: NodeJS.ReadableStream, size: number, what: string): Promise<Buffer> {
  const out = Buffer.alloc(size);
  let off = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (off + chunk.length > size) throw new PthError(`${what} holds more data than its zip entry declares.`);
    chunk.copy(out, off);
    off += chunk.length;
  }
  if (off !== size) throw new PthError(`${what} holds ${off} bytes instead of ${size}.`);
  return out;
}

/** True if the file starts like a zip archive (what torch.save writes since torch 1.6). */
export function isZipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
  } finally {
    fs.closeSync(fd);
  }
}

/** Explains why a file that is not a zip cannot be read. */
function notZipMessage(file: string): string {
  const head = Buffer.alloc(512);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const name = path.basename(file);
  const isTar = n >= 262 && head.toString('latin1', 257, 262) === 'ustar';
  if ((n > 0 && head[0] === 0x80) || isTar) {
    return `${name} is in the legacy torch.save format (before torch 1.6), which is not supported; load it in Python and save it again with a current torch.`;
  }
  return `${name} is not a PyTorch checkpoint: it is not a zip archive.`;
}

/** A small text record, trimmed; undefined if the entry does not exist. */
async function readRecord(zip: ZipFile, file: string, e: ZipEntry | undefined): Promise<string | undefined> {
  if (!e) return undefined;
  if (e.uncompressedSize > MAX_RECORD_BYTES) throw new PthError(`${path.basename(file)} is damaged: its ${e.fileName} record is ${e.uncompressedSize} bytes long.`);
  return (await readZipEntry(zip, file, e)).toString('utf8').trim();
}

/** Bytes [start, end) of an entry's uncompressed data. */
async function readZipEntry(zip: ZipFile, file: string, e: ZipEntry, start = 0, end = e.uncompressedSize): Promise<Buffer> {
  const what = `${path.basename(file)}: ${e.fileName}`;
  if (e.isEncrypted()) throw new PthError(`${what} is encrypted.`);
  try {
    if (e.compressionMethod === 0) {
      // Stored entries (what torch writes) are read by byte range; nothing else of the file is touched.
      if (end === start) return Buffer.alloc(0);
      return await readStream(await zip.openReadStreamPromise(e, { decodeFileData: false, start, end }), end - start, what);
    }
    const all = await readStream(await zip.openReadStreamPromise(e), e.uncompressedSize, what);
    return all.subarray(start, end);
  } catch (err) {
    if (err instanceof PthError) throw err;
    throw new PthError(`${what} cannot be read (${describeError(err)}).`);
  }
}

export class PthArchive {
  private constructor(
    readonly file: string,
    private readonly zip: ZipFile,
    private readonly entries: Map<string, ZipEntry>,
    readonly layout: PthLayout,
    readonly root: PickleValue,
  ) {}

  /** Opens a checkpoint, reads its pickle under the allowlist and checks every storage against its zip entry. */
  static async open(file: string): Promise<PthArchive> {
    const name = path.basename(file);
    if (!fs.existsSync(file)) throw new PthError(`${file} does not exist.`);
    let zip: ZipFile;
    try {
      zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true });
    } catch {
      throw new PthError(notZipMessage(file));
    }
    try {
      const entries = new Map<string, ZipEntry>();
      try {
        for await (const e of zip.eachEntry()) {
          if (entries.has(e.fileName)) throw new PthError(`${name} is damaged: its zip lists ${JSON.stringify(e.fileName)} twice.`);
          entries.set(e.fileName, e);
        }
      } catch (e) {
        if (e instanceof PthError) throw e;
        throw new PthError(`${name} is not a readable zip archive (${describeError(e)}).`);
      }
      const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
      if (pickles.length === 0) throw new PthError(`${name} is a zip archive but not a PyTorch checkpoint: it has no <folder>/data.pkl.`);
      if (pickles.length > 1) throw new PthError(`${name} has several top folders with a data.pkl; a PyTorch checkpoint has one.`);
      const prefix = pickles[0].slice(0, -'/data.pkl'.length);
      const record = (n: string) => readRecord(zip, file, entries.get(`${prefix}/${n}`));
      const layout: PthLayout = { prefix, version: await record('version'), dataVersion: await record('.data/version'), byteOrder: 'little' };
      const order = await record('byteorder');
      if (order !== undefined) {
        if (order !== 'little' && order !== 'big') throw new PthError(`${name} is damaged: its byteorder record says ${JSON.stringify(order)}.`);
        layout.byteOrder = order;
      }
      const pkl = entries.get(pickles[0])!;
      if (pkl.uncompressedSize > MAX_PICKLE_BYTES) throw new PthError(`${name}: data.pkl has ${pkl.uncompressedSize} bytes, too large for a checkpoint's object tree.`);
      const pickleBytes = await readZipEntry(zip, file, pkl);
      let root: PickleValue;
      try {
        root = unpickle(pickleBytes, {
          persistentLoad: torchStorageLoader((key) => entries.get(`${prefix}/data/${key}`)?.uncompressedSize, (d) => DTYPE_BYTES[d]),
        });
      } catch (e) {
        if (e instanceof PickleError) throw new PthError(`${name}: ${e.message}`);
        throw e;
      }
      return new PthArchive(file, zip, entries, layout, root);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  close(): void {
    this.zip.close();
  }

  private storageEntry(s: TorchStorage): ZipEntry {
    return this.entries.get(`${this.layout.prefix}/data/${s.key}`)!; // its existence and size were checked on open
  }

  /** A tensor's elements in row-major order as little-endian bytes of its dtype (strided views are gathered). */
  async readTensorBytes(t: TorchTensor): Promise<Buffer> {
    const es = DTYPE_BYTES[t.dtype];
    const n = t.numel;
    if (n === 0) return Buffer.alloc(0);
    let last = t.storageOffset;
    for (let i = 0; i < t.shape.length; i++) last += (t.shape[i] - 1) * t.stride[i];
    const raw = await readZipEntry(this.zip, this.file, this.storageEntry(t.storage), t.storageOffset * es, (last + 1) * es);
    const data = isContiguous(t) ? raw : gather(raw, t, es);
    if (this.layout.byteOrder === 'big') swapBytes(data, es);
    return data;
  }

  /** A tensor's elements converted to float32. */
  async readTensor(t: TorchTensor): Promise<Float32Array> {
    return toFloat32(await this.readTensorBytes(t), t.dtype);
  }
}

function isContiguous(t: TorchTensor): boolean {
  let expected = 1;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

/** Copies a strided view (relative to the first addressed element) into row-major order. */
function gather(raw: Buffer, t: TorchTensor, es: number): Buffer {
  const n = t.numel;
  const out = Buffer.alloc(n * es);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d] * t.stride[d];
    raw.copy(out, i * es, src * es, src * es + es);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function swapBytes(b: Buffer, es: number): void {
  if (es === 2) b.swap16();
  else if (es === 4) b.swap32();
  else if (es === 8) b.swap64();
}

/** A tensor found in the object tree, named by its dotted path (e.g. model.net.pos_embed). */
export interface NamedTorchTensor {
  name: string;
  tensor: TorchTensor;
}

/** How deep the object tree of a checkpoint may nest (a state dict needs 4 or 5 levels). */
const MAX_DEPTH = 32;

function children(v: PickleValue): [string, PickleValue][] {
  if (v instanceof PyDict) return [...v.map].map(([k, x]) => [String(k), x]);
  if (v instanceof PyNamespace) return [...v.attributes];
  if (Array.isArray(v)) return v.map((x, i) => [String(i), x]);
  if (v instanceof PyTuple) return v.items.map((x, i) => [String(i), x]);
  return [];
}

/**
 * Splits a checkpoint's object tree into its tensors (dotted names, in pickle order) and everything else as plain
 * JSON under the dotted path of the largest subtree without tensors (e.g. epoch, args, optimizer.param_groups).
 */
export function splitTree(root: PickleValue): { tensors: NamedTorchTensor[]; metadata: Record<string, unknown> } {
  const tensors: NamedTorchTensor[] = [];
  const metadata: [string, unknown][] = [];
  const hasTensor = new Map<object, boolean>();
  const containsTensor = (v: PickleValue, depth: number): boolean => {
    if (v instanceof TorchTensor) return true;
    if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return false;
    const known = hasTensor.get(v);
    if (known !== undefined) return known;
    hasTensor.set(v, false); // a cycle back to this node adds nothing
    const r = children(v).some(([, x]) => containsTensor(x, depth + 1));
    hasTensor.set(v, r);
    return r;
  };
  const onPath = new Set<object>();
  const walk = (v: PickleValue, name: string, depth: number) => {
    if (v instanceof TorchTensor) {
      tensors.push({ name: name || 'tensor', tensor: v });
      return;
    }
    if (!containsTensor(v, depth) || depth > MAX_DEPTH || onPath.has(v as object)) {
      metadata.push([name, toPlain(v)]);
      return;
    }
    onPath.add(v as object);
    for (const [k, x] of children(v)) walk(x, name ? `${name}.${k}` : k, depth + 1);
    onPath.delete(v as object);
  };
  walk(root, '', 0);
  return { tensors, metadata: Object.fromEntries(metadata) };
}

/** Converts pickled data to JSON-safe values (cycles and excessive depth are cut off with a marker string). */
export function toPlain(v: PickleValue, depth = 0, onPath = new Set<object>()): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof TorchStorage) return `<storage ${v.key}: ${v.numel} x ${v.dtype}>`;
  if (v instanceof TorchTensor) return `<tensor ${v.dtype} [${v.shape.join(', ')}]>`;
  if (depth > MAX_DEPTH) return '<nested too deeply>';
  if (onPath.has(v)) return '<cycle>';
  onPath.add(v);
  try {
    const kids = children(v);
    if (Array.isArray(v) || v instanceof PyTuple) return kids.map(([, x]) => toPlain(x, depth + 1, onPath));
    return Object.fromEntries(kids.map(([k, x]) => [k, toPlain(x, depth + 1, onPath)]));
  } finally {
    onPath.delete(v);
  }
}
