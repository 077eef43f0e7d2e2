// safetensors: an 8-byte little-endian header length, a UTF-8 JSON header {name: {dtype, shape, data_offsets}},
// optional "__metadata__" (string -> string), then the tensor bytes. The reader enforces the format's rules so a
// corrupt or hostile file gives one clear sentence, never a crash or a huge allocation.
import * as fs from 'fs';
import * as path from 'path';

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_BYTES: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Headers above this are refused (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: TensorInfo[];
  /** Absolute file offset where the data section starts. */
  dataStart: number;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Longest piece of a (possibly hostile) name quoted in an error message. */
const MAX_QUOTED = 80;

/** Quotes a name for a one-line message: JSON escapes control characters, long names are cut. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > MAX_QUOTED ? `${name.slice(0, MAX_QUOTED)}...` : name);
}

function fail(msg: string): never {
  throw new SafetensorsError(`Not a valid safetensors file: ${msg}.`);
}

/** Parses and validates a header; `fileSize` is the total size of the file. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail('the header is not valid UTF-8');
  }
  // The format requires the header to start with '{' (it may be padded with trailing spaces).
  if (!text.startsWith('{')) fail('the header does not start with a JSON object');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('the header is not a JSON object');
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) fail(`the key ${quoteName(duplicate)} appears twice in the header`);
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as object)) if (typeof v !== 'string') fail(`metadata ${quoteName(k)} is not a string`);
      metadata = value as Record<string, string>;
      continue;
    }
    tensors.push(parseTensorInfo(name, value));
  }
  // Offsets must tile the data section exactly: contiguous from 0, no gap, no overlap, no trailing bytes.
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of sorted) {
    if (t.begin !== pos) fail(t.begin < pos ? `tensor ${quoteName(t.name)} overlaps another tensor` : `there is a gap of ${t.begin - pos} bytes before tensor ${quoteName(t.name)}`);
    pos = t.end;
  }
  if (pos > dataSize) fail(`the tensors need ${pos} bytes but the file has ${Math.max(0, dataSize)} after the header (truncated?)`);
  if (pos < dataSize) fail(`${dataSize - pos} unexpected bytes follow the last tensor`);
  return { metadata, tensors, dataStart };
}

function parseTensorInfo(name: string, value: unknown): TensorInfo {
  const q = quoteName(name);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`entry ${q} is not an object`);
  const v = value as Record<string, unknown>;
  const dtype = v.dtype;
  if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) {
    fail(`tensor ${q} has dtype ${quoteName(String(dtype))}, which is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  const shape = v.shape;
  if (!Array.isArray(shape)) fail(`tensor ${q} has no shape list`);
  let count = 1;
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) fail(`tensor ${q} has an invalid dimension ${quoteName(String(s))}`);
    count *= s;
    if (!Number.isSafeInteger(count)) fail(`tensor ${q} has more elements than a safe integer can count`);
  }
  const offs = v.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2) fail(`tensor ${q} does not have exactly two data_offsets`);
  const [begin, end] = offs as unknown[];
  for (const o of [begin, end]) if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) fail(`tensor ${q} has an invalid offset ${quoteName(String(o))}`);
  const b = begin as number;
  const e = end as number;
  if (e < b) fail(`tensor ${q} ends before it begins`);
  const bytes = count * DTYPE_BYTES[dtype as DType];
  if (!Number.isSafeInteger(bytes)) fail(`tensor ${q} is too large`);
  if (e - b !== bytes) fail(`tensor ${q} has ${e - b} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${bytes}`);
  return { name, dtype: dtype as DType, shape: shape as number[], begin: b, end: e };
}

/**
 * JSON.parse keeps the last of duplicate keys silently; the format forbids duplicates, so scan every object of the
 * (already parsed, hence well-formed) header text for a key that repeats.
 */
function findDuplicateKey(text: string): string | undefined {
  const frames: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    } else if (ch === '{') frames.push({ keys: new Set(), expectKey: true });
    else if (ch === '[') frames.push({ keys: null, expectKey: false });
    else if (ch === '}' || ch === ']') frames.pop();
    else if (ch === ',') {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
  return undefined;
}

/** Reads exactly `length` bytes at `position` (readSync may return fewer). */
function readFully(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, buf, off, length - off, position + off);
    if (n === 0) throw new SafetensorsError(`Not a valid safetensors file: it ended after ${position + off} bytes while ${position + length} were expected (was it truncated while being read?).`);
    off += n;
  }
  return buf;
}

/** Runs a read of `file`, naming the file in a format error. */
function naming<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof SafetensorsError) throw new SafetensorsError(`${path.basename(file)}: ${e.message}`);
    throw e;
  }
}

/** Reads and validates only the header of a file (cheap for large files). */
export function readHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    return naming(file, () => readHeaderFd(fd));
  } finally {
    fs.closeSync(fd);
  }
}

function readHeaderFd(fd: number): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  if (size < 8) fail(`the file has ${size} bytes, fewer than the 8-byte header length`);
  const len = readFully(fd, 8, 0).readBigUInt64LE(0);
  if (len > BigInt(MAX_HEADER_BYTES)) fail(`the header length ${len} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (Number(len) > size - 8) fail(`the header length ${len} runs past the end of the ${size}-byte file`);
  return parseHeader(readFully(fd, Number(len), 8), size);
}

/** Reads one tensor's raw bytes by byte range (lazy access for large files). */
export function readTensorBytes(file: string, header: SafetensorsHeader, info: TensorInfo): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    return naming(file, () => readFully(fd, info.end - info.begin, header.dataStart + info.begin));
  } finally {
    fs.closeSync(fd);
  }
}

/** Converts raw little-endian bytes of a float or integer tensor to float32. */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, dv.getUint16(i * 2, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      break;
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

export interface LoadedTensor {
  dtype: DType;
  shape: number[];
  data: Float32Array;
}

/** Reads a whole file: every tensor converted to float32. */
export function readSafetensors(file: string): { metadata: Record<string, string>; tensors: Map<string, LoadedTensor> } {
  const fd = fs.openSync(file, 'r');
  let header: SafetensorsHeader;
  let bytes: Buffer;
  try {
    // Header and data from the same open file, so a file replaced in between cannot mismatch them.
    header = naming(file, () => readHeaderFd(fd));
    bytes = naming(file, () => readFully(fd, fs.fstatSync(fd).size, 0));
  } finally {
    fs.closeSync(fd);
  }
  const tensors = new Map<string, LoadedTensor>();
  for (const t of header.tensors) {
    const raw = bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end);
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: toFloat32(raw, t.dtype) });
  }
  return { metadata: header.metadata, tensors };
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Serialises float32 tensors (in the given order) and string metadata into one buffer. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw new Error(`tensor ${t.name} is listed twice`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape}] has ${n} elements but data has ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  const json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json, 'utf8') % 8)) % 8; // align the data section to 8 bytes, as the reference writer does
  const headerBytes = Buffer.from(json + ' '.repeat(pad), 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (isLittleEndian()) b.copy(out, pos);
    else for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i], pos + i * 4);
    pos += t.data.byteLength;
  }
  return out;
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
}
