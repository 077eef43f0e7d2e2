// A pickle writer (protocol 2, what torch.save uses) for exactly the values a checkpoint holds, the counterpart
// of the restricted reader in pickle.ts: None, bools, ints, floats, strings, lists, tuples, dicts, OrderedDicts,
// argparse.Namespace, and tensors (written as torch._utils._rebuild_tensor_v2 over a storage that is named by a
// persistent id and stored beside the pickle, as torch.save does). Nothing else can be expressed, so nothing that
// runs code on load can be written.
import type { DType } from './safetensors';

/** A Python float (a JS number that is a whole number would otherwise be written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyTupleOut {
  constructor(readonly items: Picklable[]) {}
}

/** collections.OrderedDict (a plain Map is written as a dict). */
export class PyOrderedDict extends Map<string | number, Picklable> {}

/** argparse.Namespace with these attributes, in this order. */
export class PyNamespaceOut {
  constructor(readonly attributes: Map<string, Picklable>) {}
}

/** A contiguous CPU tensor. */
export class TensorOut {
  constructor(readonly dtype: 'F32', readonly shape: number[], readonly data: Float32Array) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`A tensor of shape [${shape.join(', ')}] needs ${n} values, not ${data.length}.`);
  }
}

export type Picklable = null | boolean | number | bigint | string | PyFloat | Picklable[] | PyTupleOut | Map<string | number, Picklable> | PyNamespaceOut | TensorOut;

const STORAGE_CLASS: Record<TensorOut['dtype'], string> = { F32: 'FloatStorage' };
export const STORAGE_DTYPE: Record<TensorOut['dtype'], DType> = { F32: 'F32' };

/** Grows a byte buffer (pickles of state dicts are kilobytes to a few megabytes). */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  u16(v: number): void {
    this.reserve(2);
    this.length = this.buf.writeUInt16LE(v, this.length);
  }
  u32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  f64be(v: number): void {
    this.reserve(8);
    this.length = this.buf.writeDoubleBE(v, this.length);
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  LONG1: 0x8a, BINFLOAT: 0x47, BINUNICODE: 0x58, EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, APPENDS: 0x65, EMPTY_DICT: 0x7d, SETITEMS: 0x75, GLOBAL: 0x63, REDUCE: 0x52, NEWOBJ: 0x81, BUILD: 0x62,
  BINPERSID: 0x51, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a,
} as const;

/** Python batches APPENDS/SETITEMS by 1000; so does this writer. */
const BATCH = 1000;

export interface PickledCheckpoint {
  pickle: Buffer;
  /** The storages in key order ("0", "1", ...): each tensor's data, to store as data/<key>. */
  storages: TensorOut[];
}

/** Pickles `root`; every tensor gets its own storage, keyed by its position. */
export function pickleCheckpoint(root: Picklable): PickledCheckpoint {
  const out = new ByteSink();
  const storages: TensorOut[] = [];
  const memo = new Map<string, number>(); // globals, written once and fetched after

  const put = (i: number) => {
    if (i < 256) {
      out.byte(OP.BINPUT);
      out.byte(i);
    } else {
      out.byte(OP.LONG_BINPUT);
      out.u32(i);
    }
  };
  const global = (module: string, name: string) => {
    const key = `${module}\n${name}\n`;
    const known = memo.get(key);
    if (known !== undefined) {
      if (known < 256) {
        out.byte(OP.BINGET);
        out.byte(known);
      } else {
        out.byte(OP.LONG_BINGET);
        out.u32(known);
      }
      return;
    }
    out.byte(OP.GLOBAL);
    out.bytes(Buffer.from(key, 'utf8'));
    const index = memo.size;
    memo.set(key, index);
    put(index);
  };
  const int = (v: number | bigint) => {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`${v} is not an integer that a checkpoint can hold exactly.`);
    if (typeof v === 'number' && v >= 0 && v < 256) {
      out.byte(OP.BININT1);
      out.byte(v);
    } else if (typeof v === 'number' && v >= 0 && v < 65536) {
      out.byte(OP.BININT2);
      out.u16(v);
    } else if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      out.byte(OP.BININT);
      out.i32(v);
    } else {
      // LONG1: little-endian two's complement, as short as the sign allows
      let x = BigInt(v);
      const bytes: number[] = [];
      for (;;) {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
        const signBit = (bytes[bytes.length - 1] & 0x80) !== 0;
        if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
      }
      out.byte(OP.LONG1);
      out.byte(bytes.length);
      out.bytes(Uint8Array.from(bytes));
    }
  };
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    out.byte(OP.BINUNICODE);
    out.u32(b.length);
    out.bytes(b);
  };
  const tuple = (items: (() => void)[]) => {
    if (items.length === 0) return out.byte(OP.EMPTY_TUPLE);
    if (items.length <= 3) {
      items.forEach((f) => f());
      return out.byte([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1]);
    }
    out.byte(OP.MARK);
    items.forEach((f) => f());
    out.byte(OP.TUPLE);
  };
  const setItems = (entries: [string | number, Picklable][]) => {
    for (let i = 0; i < entries.length; i += BATCH) {
      out.byte(OP.MARK);
      for (const [k, v] of entries.slice(i, i + BATCH)) {
        if (typeof k === 'string') str(k);
        else int(k);
        value(v);
      }
      out.byte(OP.SETITEMS);
    }
  };
  const tensor = (t: TensorOut) => {
    const key = String(storages.length);
    storages.push(t);
    global('torch._utils', '_rebuild_tensor_v2');
    const stride: number[] = new Array(t.shape.length);
    for (let i = t.shape.length - 1, s = 1; i >= 0; i--) {
      stride[i] = s;
      s *= t.shape[i];
    }
    tuple([
      () => {
        // the persistent id torch.save gives a storage: ('storage', <storage class>, key, location, numel)
        tuple([() => str('storage'), () => global('torch', STORAGE_CLASS[t.dtype]), () => str(key), () => str('cpu'), () => int(t.data.length)]);
        out.byte(OP.BINPERSID);
      },
      () => int(0),
      () => tuple(t.shape.map((d) => () => int(d))),
      () => tuple(stride.map((d) => () => int(d))),
      () => out.byte(OP.NEWFALSE),
      () => {
        global('collections', 'OrderedDict'); // backward hooks: none
        out.byte(OP.EMPTY_TUPLE);
        out.byte(OP.REDUCE);
      },
    ]);
    out.byte(OP.REDUCE);
  };
  function value(v: Picklable): void {
    if (v === null) out.byte(OP.NONE);
    else if (v === true) out.byte(OP.NEWTRUE);
    else if (v === false) out.byte(OP.NEWFALSE);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) int(v); // a larger whole number is a float here (a bigint is an int)
      else {
        out.byte(OP.BINFLOAT);
        out.f64be(v);
      }
    } else if (typeof v === 'bigint') int(v);
    else if (typeof v === 'string') str(v);
    else if (v instanceof PyFloat) {
      out.byte(OP.BINFLOAT);
      out.f64be(v.value);
    } else if (Array.isArray(v)) {
      out.byte(OP.EMPTY_LIST);
      for (let i = 0; i < v.length; i += BATCH) {
        out.byte(OP.MARK);
        v.slice(i, i + BATCH).forEach(value);
        out.byte(OP.APPENDS);
      }
    } else if (v instanceof PyTupleOut) tuple(v.items.map((x) => () => value(x)));
    else if (v instanceof PyOrderedDict) {
      global('collections', 'OrderedDict');
      out.byte(OP.EMPTY_TUPLE);
      out.byte(OP.REDUCE);
      setItems([...v]);
    } else if (v instanceof Map) {
      out.byte(OP.EMPTY_DICT);
      setItems([...v]);
    } else if (v instanceof PyNamespaceOut) {
      global('argparse', 'Namespace');
      out.byte(OP.EMPTY_TUPLE);
      out.byte(OP.NEWOBJ);
      out.byte(OP.EMPTY_DICT);
      setItems([...v.attributes]);
      out.byte(OP.BUILD);
    } else if (v instanceof TensorOut) tensor(v);
    else throw new Error(`A checkpoint cannot hold a ${typeof v}.`);
  }

  out.byte(OP.PROTO);
  out.byte(2);
  value(root);
  out.byte(OP.STOP);
  return { pickle: out.result(), storages };
}
