// A restricted unpickler for PyTorch checkpoints. Python's pickle is a small stack machine that can call any
// importable function, so loading an untrusted .pth with pickle.load runs arbitrary code. This one understands the
// binary opcodes torch.save emits and accepts only what a state dict needs: OrderedDict, the tensor-rebuild
// functions, storages (through the persistent-id hook), dtypes and argparse.Namespace read as plain data.
// Any other global is refused when it is named, before anything could be called; there is no looser mode.
import type { DType } from './safetensors';

export class PickleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleError';
  }
}

/** Python values as read here. Ints within 2^53 are numbers, larger ones bigints; floats are numbers. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | PyDict
  | PyNamespace
  | PyGlobal
  | TorchStorage
  | TorchTensor;

export type DictKey = string | number | bigint | boolean | null;

export class PyTuple {
  constructor(readonly items: PickleValue[]) {}
}

export class PyDict {
  readonly map = new Map<DictKey, PickleValue>();
  /** Attributes set by BUILD (a state dict's `_metadata`). */
  readonly attributes = new Map<string, PickleValue>();
  constructor(readonly ordered: boolean) {}
}

/** argparse.Namespace: the attributes only. */
export class PyNamespace {
  readonly attributes = new Map<string, PickleValue>();
}

/** A reference to one of the allowlisted globals (a class or function that was named, not called). */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A tensor storage: an entry of the checkpoint's zip holding `numel` elements of `dtype`. */
export class TorchStorage {
  constructor(readonly dtype: DType, readonly key: string, readonly location: string, readonly numel: number) {}
}

/** A tensor view of a storage (offsets and strides in elements), as torch._utils._rebuild_tensor_v2 builds it. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
    readonly isParameter: boolean,
  ) {}

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }
}

/** Legacy typed storage classes that torch.save names in its persistent ids, with their element types. */
export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** torch dtype objects may appear as plain values (e.g. inside args); they are names, never called. */
const DTYPE_NAMES = new Set(['float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool']);

/** Every global this unpickler will name. Anything else (os.system, builtins.eval, ...) is refused. */
function isAllowedGlobal(module: string, name: string): boolean {
  switch (module) {
    case 'collections':
      return name === 'OrderedDict';
    case 'torch._utils':
      return name === '_rebuild_tensor_v2' || name === '_rebuild_parameter' || name === '_rebuild_parameter_with_state';
    case 'torch':
      return Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name) || DTYPE_NAMES.has(name);
    case 'argparse':
      return name === 'Namespace';
    default:
      return false;
  }
}

export interface UnpickleOptions {
  /** Resolves a BINPERSID id; torch uses ('storage', storage_type, key, location, numel). */
  persistentLoad: (pid: PickleValue) => PickleValue;
  /** Bound on the stack, the mark stack and the memo together (items). */
  maxItems?: number;
}

const DEFAULT_MAX_ITEMS = 10_000_000;
/** Integers wider than this are never part of a state dict. */
const MAX_LONG_BYTES = 16;

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** A short description of a value's type for error messages. */
export function typeName(v: PickleValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PyNamespace) return 'argparse.Namespace';
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof TorchStorage) return 'storage';
  if (v instanceof TorchTensor) return 'tensor';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'boolean') return 'bool';
  return 'str';
}

/** Parses a pickle (protocol 2-5 binary opcodes) under the allowlist above. */
export function unpickle(data: Uint8Array, opts: UnpickleOptions): PickleValue {
  const maxItems = opts.maxItems ?? DEFAULT_MAX_ITEMS;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let op = 0;
  let opPos = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();
  let items = 0; // stack + mark stacks + memo, bounded by maxItems

  const fail = (msg: string): never => {
    throw new PickleError(`Unreadable checkpoint pickle: ${msg} (opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16)}`} at byte ${opPos}).`);
  };
  const need = (n: number) => {
    if (n > data.length - pos) fail(`it ends early (${n} more bytes needed at byte ${pos} of ${data.length})`);
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.length)) fail(`a length of ${v} bytes exceeds the pickle`);
    return Number(v);
  };
  const bytes = (n: number) => {
    need(n);
    pos += n;
    return data.subarray(pos - n, pos);
  };
  const text = (n: number): string => {
    try {
      return utf8.decode(bytes(n));
    } catch (e) {
      if (e instanceof PickleError) throw e;
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 1000) fail('a GLOBAL name is not terminated');
    return text(end - pos + 1).slice(0, -1);
  };
  const grow = (n: number) => {
    items += n;
    if (items > maxItems) fail(`it holds more than ${maxItems} items, far more than a checkpoint needs`);
  };
  const push = (v: PickleValue) => {
    grow(1);
    stack.push(v);
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) fail('the stack is empty');
    items--;
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('the stack is empty');
    return stack[stack.length - 1];
  };
  /** Ends the innermost MARK: returns the values pushed since (they leave the stack) and drops the mark. */
  const popMark = (): PickleValue[] => {
    const frame = stack;
    if (marks.length === 0) fail('there is no MARK');
    stack = marks.pop()!;
    items -= frame.length + 1;
    return frame;
  };
  const memoPut = (index: number) => {
    if (!memo.has(index)) grow(1);
    memo.set(index, top());
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) fail(`memo entry ${index} was never stored`);
    push(memo.get(index)!);
  };
  const dictOf = (v: PickleValue): PyDict => (v instanceof PyDict ? v : fail(`SETITEM on a ${typeName(v)}, not a dict`));
  const key = (k: PickleValue): DictKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail(`a dict key of type ${typeName(k)} is not supported`);
  };
  const setItems = (d: PyDict, kv: PickleValue[]) => {
    if (kv.length % 2) fail('SETITEMS has an odd number of items');
    for (let i = 0; i < kv.length; i += 2) d.map.set(key(kv[i]), kv[i + 1]);
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    if (!isAllowedGlobal(module, name)) {
      throw new PickleError(`Refused to load the checkpoint: its pickle names ${module}.${name}, which a checkpoint never needs (only tensors, OrderedDict, argparse.Namespace and plain data are accepted).`);
    }
    return new PyGlobal(module, name);
  };
  const int = (v: PickleValue, what: string): number => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    return fail(`${what} is not a non-negative integer`);
  };
  const ints = (v: PickleValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) return fail(`${what} is not a tuple`);
    return v.items.map((x) => int(x, what));
  };

  /** The only calls the unpickler makes: each builds plain data from checked arguments. */
  const call = (fn: PickleValue, argsValue: PickleValue): PickleValue => {
    if (!(fn instanceof PyGlobal)) return fail(`REDUCE of a ${typeName(fn)}`);
    if (!(argsValue instanceof PyTuple)) return fail(`the arguments of ${fn.qualifiedName} are not a tuple`);
    const args = argsValue.items;
    switch (fn.qualifiedName) {
      case 'collections.OrderedDict': {
        const d = new PyDict(true);
        if (args.length === 0) return d;
        if (args.length === 1 && Array.isArray(args[0])) {
          for (const pair of args[0]) {
            if (!(pair instanceof PyTuple) || pair.items.length !== 2) fail('OrderedDict is given something other than (key, value) pairs');
            d.map.set(key((pair as PyTuple).items[0]), (pair as PyTuple).items[1]);
          }
          return d;
        }
        return fail('OrderedDict is given unexpected arguments');
      }
      case 'torch._utils._rebuild_tensor_v2':
        return rebuildTensor(args);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const [t, requiresGrad] = args;
        if (!(t instanceof TorchTensor)) return fail(`${fn.name} is given a ${typeName(t)}, not a tensor`);
        return new TorchTensor(t.storage, t.storageOffset, t.shape, t.stride, requiresGrad === true, true);
      }
      default:
        return fail(`${fn.qualifiedName} cannot be called`);
    }
  };
  const rebuildTensor = (args: PickleValue[]): TorchTensor => {
    if (args.length < 6 || args.length > 7) fail(`_rebuild_tensor_v2 is given ${args.length} arguments instead of 6 or 7`);
    const [storage, offsetV, sizeV, strideV, requiresGrad] = args;
    if (!(storage instanceof TorchStorage)) return fail(`_rebuild_tensor_v2 is given a ${typeName(storage)}, not a storage`);
    const offset = int(offsetV, 'a storage offset');
    const shape = ints(sizeV, 'a tensor size');
    const stride = ints(strideV, 'a tensor stride');
    if (shape.length !== stride.length) fail(`a tensor has ${shape.length} sizes but ${stride.length} strides`);
    // Every element the view can address must lie inside its storage.
    let count = 1;
    let last = offset;
    for (let i = 0; i < shape.length; i++) {
      count *= shape[i];
      last += Math.max(0, shape[i] - 1) * stride[i];
    }
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(last)) fail('a tensor is too large');
    if (count > 0 && last >= storage.numel) fail(`a tensor of shape [${shape.join(', ')}] reaches element ${last} of a storage with ${storage.numel}`);
    return new TorchTensor(storage, offset, shape, stride, requiresGrad === true, false);
  };

  for (;;) {
    opPos = pos;
    op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto < 2 || proto > 5) fail(`pickle protocol ${proto} is not supported`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: { // STOP
        if (marks.length) fail('a MARK is still open at STOP');
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack instead of 1`);
        return stack[0];
      }
      case 0x28: // MARK
        grow(1);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : u32();
        if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes is too large`);
        push(decodeLong(bytes(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        const t: PickleValue[] = [];
        for (let i = 0; i < n; i++) t.unshift(pop());
        push(new PyTuple(t));
        break;
      }
      case 0x74: { // TUPLE
        const t = popMark();
        push(new PyTuple(t));
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: { // LIST
        const l = popMark();
        push(l);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) fail(`APPEND to a ${typeName(l)}, not a list`);
        (l as PickleValue[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const vs = popMark();
        const l = top();
        if (!Array.isArray(l)) fail(`APPENDS to a ${typeName(l)}, not a list`);
        for (const v of vs) (l as PickleValue[]).push(v);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict(false));
        break;
      case 0x64: { // DICT
        const kv = popMark();
        const d = new PyDict(false);
        setItems(d, kv);
        push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        dictOf(top()).map.set(key(k), v);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(dictOf(top()), kv);
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        push(call(fn, args));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.qualifiedName !== 'argparse.Namespace') fail(`NEWOBJ of ${typeName(cls)} is not allowed`);
        if (!(args instanceof PyTuple) || args.items.length) fail('argparse.Namespace is given positional arguments');
        push(new PyNamespace());
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (!(state instanceof PyDict)) fail(`BUILD with a ${typeName(state)} state`);
        if (!(obj instanceof PyNamespace || obj instanceof PyDict)) fail(`BUILD on a ${typeName(obj)}`);
        for (const [k, v] of (state as PyDict).map) {
          if (typeof k !== 'string') fail('an attribute name is not a string');
          (obj as PyNamespace | PyDict).attributes.set(k as string, v);
        }
        break;
      }
      case 0x51: // BINPERSID
        push(opts.persistentLoad(pop()));
        break;
      default:
        fail(OPCODE_NAMES[op] ? 'this opcode is not supported in a checkpoint' : 'unknown opcode');
    }
  }
}

/** Little-endian two's-complement integer of LONG1/LONG4. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * The persistent ids torch.save writes for storages: ('storage', storage_type, key, location, numel).
 * `entrySize(key)` gives the byte size of the zip entry that holds the storage (undefined if there is none); the
 * storage is accepted only if that entry exists and holds exactly numel x element size bytes.
 */
export function torchStorageLoader(entrySize: (key: string) => number | undefined, elementBytes: (d: DType) => number): (pid: PickleValue) => TorchStorage {
  const cache = new Map<string, TorchStorage>();
  return (pid) => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
      throw new PickleError(`Unreadable checkpoint pickle: a persistent id is a ${typeName(pid)} instead of ('storage', type, key, location, numel).`);
    }
    const [, type, key, location, numel] = pid.items;
    if (!(type instanceof PyGlobal) || type.module !== 'torch' || !Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, type.name)) {
      throw new PickleError(`Unreadable checkpoint pickle: a storage has type ${typeName(type)}, not a torch storage type.`);
    }
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) throw new PickleError('Unreadable checkpoint pickle: a storage key is not a short name.');
    if (typeof location !== 'string') throw new PickleError(`Unreadable checkpoint pickle: storage ${key} has no location string.`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new PickleError(`Unreadable checkpoint pickle: storage ${key} has an invalid size.`);
    const dtype = STORAGE_DTYPES[type.name];
    const size = entrySize(key);
    if (size === undefined) throw new PickleError(`Damaged checkpoint: storage ${key} is referenced but the archive has no entry data/${key}.`);
    const expected = numel * elementBytes(dtype);
    if (size !== expected) throw new PickleError(`Damaged checkpoint: storage ${key} should hold ${numel} x ${elementBytes(dtype)} = ${expected} bytes but its entry has ${size}.`);
    const known = cache.get(key);
    if (known && (known.dtype !== dtype || known.numel !== numel)) throw new PickleError(`Damaged checkpoint: storage ${key} is described twice in different ways.`);
    const s = known ?? new TorchStorage(dtype, key, location, numel);
    cache.set(key, s);
    return s;
  };
}
